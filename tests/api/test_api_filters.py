"""The list filters together: what they document, and what every one of them does.

Each endpoint's own tests show its filters filtering (test_api_patients,
test_api_checkins, test_api_escalations, tests/patients/test_api_sessions).
"""

from __future__ import annotations

import pytest

from followups.models import Escalation
from tests.factories import PatientFactory, response_for, session_with_checkins

pytestmark = pytest.mark.django_db

# The query parameters of interface.md's REST API (and the sessions'), as the
# OpenAPI document gives them: name -> (type, enum).
DOCUMENTED = {
    "/api/patients/": {"clinic": ("integer", None), "search": ("string", None)},
    "/api/sessions/": {"patient": ("integer", None), "clinic": ("integer", None)},
    "/api/checkins/": {
        "patient": ("integer", None), "session": ("integer", None),
        "day": ("integer", [2, 7, 10]),
        "status": ("string", ["scheduled", "sent", "completed", "missed", "cancelled",
                              "failed"]),
    },
    "/api/escalations/": {
        "patient": ("integer", None), "clinic": ("integer", None),
        "assigned_to": ("integer", None),
        "level": ("string", ["review", "urgent"]),
        "status": ("string", ["open", "acknowledged", "resolved"]),
    },
}


@pytest.mark.parametrize("path", DOCUMENTED)
def test_the_openapi_document_gives_each_filter_its_type_and_values(path):
    from drf_spectacular.generators import SchemaGenerator

    operation = SchemaGenerator().get_schema(public=True)["paths"][path]["get"]
    # The pagination's own parameter (page, or cursor for the lists that grow
    # without bound), not a filter.
    parameters = {p["name"]: p for p in operation["parameters"]
                  if p["name"] not in ("page", "cursor")}

    assert set(parameters) == set(DOCUMENTED[path])
    for name, (kind, values) in DOCUMENTED[path].items():
        schema = parameters[name]["schema"]
        assert parameters[name]["in"] == "query"
        assert parameters[name].get("description"), name
        assert schema["type"] == kind, name
        assert sorted(schema.get("enum", []), key=str) == sorted(values or [], key=str), name
    assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])


def test_it_names_every_bad_parameter_in_one_answer_a_sentence_each(api, patient):
    response = api.get("/api/checkins/", {"patient": "abc", "day": "3", "status": "done",
                                          "session": ""})

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"patient", "day", "status"}
    assert all(isinstance(message, str) and message for message in body.values())


def test_it_ignores_empty_and_unknown_parameters(api, patient):
    session_with_checkins(patient=patient)

    response = api.get("/api/checkins/", {"patient": "", "day": "", "status": "",
                                          "colour": "blue"})
    search = api.get("/api/patients/", {"search": "   ", "clinic": ""})

    assert (response.status_code, len(response.json()["results"])) == (200, 2)
    assert (search.status_code, search.json()["count"]) == (200, 1)


@pytest.fixture
def theirs(other_clinic):
    """Another clinic's patient, session, check-ins and open escalation."""
    session = session_with_checkins(patient=PatientFactory(clinic=other_clinic))
    response_for(session.checkins.get(day=2), fever=True)
    return session


@pytest.mark.parametrize(("path", "param", "target"), [
    ("/api/patients/", "clinic", "patient.clinic_id"),
    ("/api/sessions/", "patient", "patient_id"),
    ("/api/sessions/", "clinic", "patient.clinic_id"),
    ("/api/checkins/", "patient", "patient_id"),
    ("/api/checkins/", "session", "pk"),
    ("/api/escalations/", "patient", "patient_id"),
    ("/api/escalations/", "clinic", "patient.clinic_id"),
])
def test_it_filters_only_within_the_callers_clinics(api, patient, theirs, path, param, target):
    from operator import attrgetter

    session_with_checkins(patient=patient)
    assert Escalation.objects.filter(patient__clinic=theirs.patient.clinic).exists()

    response = api.get(path, {param: attrgetter(target)(theirs)})

    assert (response.status_code, len(response.json()["results"])) == (200, 0)


def test_it_draws_the_filter_form_on_the_browsable_api(api, patient):
    response = api.get("/api/escalations/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert b'name="level"' in response.content
