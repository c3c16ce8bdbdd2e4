"""/fhir/R4/: every resource valid R4B, scoped to the caller's clinics, in constant queries."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from followups.models import AuditEvent, Escalation
from followups.records.fhir import MODELS, TRANSLATION_EXTENSION
from tests.factories import ApplicationFactory, ProductFactory, response_for, session_with_checkins

pytestmark = pytest.mark.django_db

KINDS = ("Patient", "Procedure", "QuestionnaireResponse", "Flag", "AllergyIntolerance")


def get(client, path: str):
    reply = client.get(path)
    return reply, json.loads(reply.content)


def valid(resource: dict) -> None:
    MODELS[resource["resourceType"]].model_validate(resource)
    for entry in resource.get("entry", []):
        valid(entry["resource"])


@pytest.fixture
def flagged(afternoon, patient):
    patient.known_allergies = ["lidocaine"]
    patient.save()
    product = ProductFactory(name="Calm Serum")
    session = session_with_checkins(patient=patient, products=[
        {"product": product, "phase": "post", "lot_number": "LOT-77"}])
    response = response_for(session.checkins.get(day=2), fever=True, comments="feeling hot")
    return session, response, Escalation.objects.get(session=session)


def test_every_resource_the_server_returns_parses_as_r4b(api, patient, flagged):
    session, response, escalation = flagged
    paths = ["metadata", "Questionnaire/aftercare-checkin", f"Patient/{patient.pk}",
             f"Procedure/{session.pk}", f"QuestionnaireResponse/{response.pk}",
             f"Flag/{escalation.pk}", f"AllergyIntolerance/{patient.pk}-0",
             *(f"{kind}?patient={patient.pk}" for kind in KINDS), "Questionnaire"]
    for path in paths:
        reply, body = get(api, f"/fhir/R4/{path}")
        assert reply.status_code == 200, (path, body)
        assert reply["Content-Type"] == "application/fhir+json"
        valid(body)


def test_the_procedure_names_its_products_and_lots(api, flagged):
    session, _response, _escalation = flagged
    _reply, procedure = get(api, f"/fhir/R4/Procedure/{session.pk}")

    assert procedure["usedCode"][0]["text"] == "Calm Serum"
    [medication] = procedure["contained"]
    assert medication["batch"]["lotNumber"] == "LOT-77"
    assert procedure["usedReference"][0]["reference"] == f"#{medication['id']}"


def test_the_answers_link_to_the_questionnaire_the_patient_and_the_session(api, patient,
                                                                          flagged):
    session, response, escalation = flagged
    _reply, answers = get(api, f"/fhir/R4/QuestionnaireResponse/{response.pk}")
    _reply, flag = get(api, f"/fhir/R4/Flag/{escalation.pk}")

    assert answers["questionnaire"].endswith("/Questionnaire/aftercare-checkin")
    assert answers["subject"]["reference"] == f"Patient/{patient.pk}"
    assert answers["partOf"] == [{"reference": f"Procedure/{session.pk}"}]
    assert flag["category"][0]["coding"][0]["code"] == "urgent"
    fever = flag["code"]["coding"][0]
    assert fever["code"] == "FEVER" and fever["extension"][0]["valueString"]


def test_the_questionnaire_speaks_english_french_and_spanish(api):
    _reply, questionnaire = get(api, "/fhir/R4/Questionnaire/aftercare-checkin")

    for item in questionnaire["item"]:
        languages = {ext["extension"][0]["valueCode"]: ext["extension"][1]["valueString"]
                     for ext in item["_text"]["extension"] if ext["url"] == TRANSLATION_EXTENSION}
        assert set(languages) == {"fr", "es"}
        assert all(words and words != item["text"] for words in languages.values()), item


def test_another_clinics_staff_find_nothing(outsider_api, patient, flagged):
    session, response, escalation = flagged
    for path in (f"Patient/{patient.pk}", f"Procedure/{session.pk}",
                 f"QuestionnaireResponse/{response.pk}", f"Flag/{escalation.pk}"):
        reply, body = get(outsider_api, f"/fhir/R4/{path}")
        assert reply.status_code == 404 and body["resourceType"] == "OperationOutcome"
    for kind in KINDS:
        reply, body = get(outsider_api, f"/fhir/R4/{kind}?patient={patient.pk}")
        assert reply.status_code == 200 and body["total"] == 0


def test_it_refuses_a_caller_without_credentials_as_an_operation_outcome(db):
    reply, body = get(APIClient(), "/fhir/R4/Patient")

    assert reply.status_code in (401, 403)
    assert body["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(("query", "named"), [
    ("patient=abc", "patient"), ("patient=0", "patient"), ("name=Maya", "name"),
    ("_count=x", "_count"),
])
def test_a_bad_search_is_a_400_naming_the_parameter(api, query, named):
    reply, body = get(api, f"/fhir/R4/Flag?{query}")

    assert reply.status_code == 400
    assert body["issue"][0]["diagnostics"].startswith(named)


def test_it_audits_each_read_of_a_patients_resources(api, staff, patient, flagged):
    get(api, f"/fhir/R4/QuestionnaireResponse?patient={patient.pk}")

    event = AuditEvent.objects.get(actor=staff, action=AuditEvent.Action.VIEW_ANSWERS)
    assert event.patient == patient and event.target.startswith("FHIR GET")


@pytest.mark.parametrize("kind", ["Procedure", "QuestionnaireResponse", "Flag"])
def test_a_search_takes_the_same_queries_for_one_or_five_sessions(api, staff, patient, kind,
                                                                   afternoon):
    def add_session():
        session = session_with_checkins(patient=patient, practitioner=staff)
        ApplicationFactory(session=session)
        response_for(session.checkins.get(day=2), fever=True)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            reply = api.get(f"/fhir/R4/{kind}?patient={patient.pk}")
        assert reply.status_code == 200
        return len(queries)

    add_session()
    count()  # the caller's clinics are then known (cached on the user)
    one = count()
    for _ in range(4):
        add_session()
    assert count() == one
