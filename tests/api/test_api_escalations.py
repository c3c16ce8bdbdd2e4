"""/api/escalations/: the clinician's queue, acknowledged and resolved through the API."""

from __future__ import annotations

from datetime import datetime

import pytest

from followups.models import Escalation
from tests.factories import PatientFactory, response_for, session_with_checkins

pytestmark = pytest.mark.django_db

ESCALATION_FIELDS = {"id", "patient", "session", "checkin", "level", "status", "reasons",
                     "created_at", "acknowledged_by", "acknowledged_at", "resolved_by",
                     "resolved_at", "resolution_note", "assigned_to", "contacts",
                     "next_attempt_at"}
# A list that grows without bound: a cursor page, no count.
PAGE_KEYS = {"next", "previous", "results"}
NORMAL = {"rash": "none", "breakouts": "none", "itching": "none", "swelling": "mild",
          "pain": "none", "fever": False, "pus": False, "hives": False}


@pytest.fixture
def session(staff, patient):
    return session_with_checkins(patient=patient, practitioner=staff)


@pytest.fixture
def urgent(session):
    response_for(session.checkins.get(day=2), fever=True)
    return Escalation.objects.get()


def acknowledge(api, escalation):
    return api.post(f"/api/escalations/{escalation.pk}/acknowledge/")


def resolve(api, escalation, body=None):
    return api.post(f"/api/escalations/{escalation.pk}/resolve/",
                    {"note": "Called the patient; seen by the GP."} if body is None else body,
                    format="json")


def level_of(api, patient) -> str:
    return api.get(f"/api/patients/{patient.pk}/").json()["open_escalation_level"]


def aware(timestamp: str) -> datetime:
    parsed = datetime.fromisoformat(timestamp)
    assert parsed.tzinfo is not None
    return parsed


# The queue ----------------------------------------------------------------------------------


def test_it_lists_an_escalation_raised_by_answers_taken_by_phone(api, session, patient):
    day2 = session.checkins.get(day=2)
    api.post(f"/api/checkins/{day2.pk}/response/", {**NORMAL, "pus": True}, format="json")

    response = api.get("/api/escalations/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == PAGE_KEYS
    assert len(body["results"]) == 1
    [listed] = body["results"]
    assert set(listed) == ESCALATION_FIELDS
    assert listed["patient"] == patient.pk
    assert listed["session"] == session.pk
    assert listed["checkin"] == day2.pk
    assert listed["level"] == "urgent"
    assert listed["status"] == "open"
    assert [reason["code"] for reason in listed["reasons"]] == ["PUS"]
    assert all(set(reason) == {"code", "message", "source"} for reason in listed["reasons"])
    aware(listed["created_at"])
    assert listed["acknowledged_by"] is None and listed["acknowledged_at"] is None
    assert listed["resolved_by"] is None and listed["resolved_at"] is None
    assert listed["resolution_note"] == ""
    assert level_of(api, patient) == "urgent"


def test_it_shows_one_escalation_with_the_contract_fields(api, urgent):
    response = api.get(f"/api/escalations/{urgent.pk}/")

    assert response.status_code == 200
    assert set(response.json()) == ESCALATION_FIELDS


def test_it_lists_urgent_before_review(api, staff, clinic, urgent):
    other = session_with_checkins(patient=PatientFactory(clinic=clinic), practitioner=staff)
    response_for(other.checkins.get(day=2), hives=True)

    levels = [e["level"] for e in api.get("/api/escalations/").json()["results"]]

    assert levels == ["urgent", "review"]


def test_it_keeps_escalations_read_only(api, urgent):
    assert api.post("/api/escalations/", {"patient": urgent.patient_id, "level": "review"},
                    format="json").status_code == 405
    assert api.patch(f"/api/escalations/{urgent.pk}/", {"status": "resolved"},
                     format="json").status_code == 405
    assert api.delete(f"/api/escalations/{urgent.pk}/").status_code == 405
    urgent.refresh_from_db()
    assert urgent.status == "open"


def test_it_hides_another_clinics_escalations(outsider_api, urgent):
    assert outsider_api.get("/api/escalations/").json()["results"] == []
    assert outsider_api.get(f"/api/escalations/{urgent.pk}/").status_code == 404
    assert acknowledge(outsider_api, urgent).status_code == 404
    assert resolve(outsider_api, urgent).status_code == 404
    urgent.refresh_from_db()
    assert urgent.status == "open"


# Filters ------------------------------------------------------------------------------------------


@pytest.fixture
def queue(staff, clinic, other_clinic, urgent):
    """Our urgent (open) and review (resolved) escalations, and another clinic's."""
    second = PatientFactory(clinic=clinic)
    review_session = session_with_checkins(patient=second, practitioner=staff)
    response_for(review_session.checkins.get(day=2), hives=True)
    review = Escalation.objects.get(level="review")
    from followups.escalations.services import escalation_resolve

    escalation_resolve(escalation=review, actor=staff, note="Antihistamine advised.")
    theirs = session_with_checkins(patient=PatientFactory(clinic=other_clinic))
    response_for(theirs.checkins.get(day=2), fever=True)
    return urgent, review, Escalation.objects.get(patient__clinic=other_clinic)


def listed_ids(response) -> set[int]:
    assert response.status_code == 200, response.json()
    return {e["id"] for e in response.json()["results"]}


def test_it_filters_escalations(api, queue, clinic, other_clinic):
    urgent, review, theirs = queue

    assert listed_ids(api.get(f"/api/escalations/?patient={urgent.patient_id}")) == {urgent.pk}
    assert listed_ids(api.get("/api/escalations/?level=review")) == {review.pk}
    assert listed_ids(api.get("/api/escalations/?level=urgent")) == {urgent.pk}
    assert listed_ids(api.get("/api/escalations/?status=open")) == {urgent.pk}
    assert listed_ids(api.get("/api/escalations/?status=resolved")) == {review.pk}
    assert listed_ids(api.get("/api/escalations/?status=acknowledged")) == set()
    assert listed_ids(api.get(f"/api/escalations/?clinic={clinic.pk}")) == {urgent.pk,
                                                                          review.pk}
    assert listed_ids(api.get(f"/api/escalations/?clinic={other_clinic.pk}")) == set()
    assert listed_ids(api.get(f"/api/escalations/?patient={theirs.patient_id}")) == set()


@pytest.mark.parametrize(("param", "value"), [
    ("patient", "abc"), ("patient", "-2"), ("level", "none"), ("level", "URGENT"),
    ("status", "closed"), ("clinic", "riverside"), ("clinic", "0"),
    ("clinic", "9223372036854775808"),
])
def test_it_refuses_a_bad_filter_value_naming_the_parameter(api, urgent, param, value):
    response = api.get("/api/escalations/", {param: value})

    assert response.status_code == 400
    assert param in response.json()


# Acknowledging ---------------------------------------------------------------------------------


def test_it_acknowledges_an_escalation_recording_who_and_when(api, staff, urgent, patient):
    response = acknowledge(api, urgent)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == ESCALATION_FIELDS
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == staff.pk
    aware(body["acknowledged_at"])
    assert body["resolved_by"] is None
    urgent.refresh_from_db()
    assert urgent.acknowledged_by == staff
    assert urgent.next_action_at is None  # nobody is chased any more
    # Seen, but the patient is not looked after until it is resolved.
    assert level_of(api, patient) == "urgent"


def test_it_refuses_to_acknowledge_twice_with_409(api, urgent):
    acknowledge(api, urgent)

    again = acknowledge(api, urgent)

    assert again.status_code == 409
    assert "acknowledged" in again.json()["detail"]


def test_it_refuses_to_acknowledge_a_resolved_escalation_with_409(api, urgent):
    resolve(api, urgent)

    assert acknowledge(api, urgent).status_code == 409


# Resolving ---------------------------------------------------------------------------------


def test_it_resolves_an_escalation_with_a_note(api, staff, urgent, patient):
    acknowledge(api, urgent)

    response = resolve(api, urgent, {"note": "  Called; GP prescribed antibiotics.  "})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "resolved"
    assert body["resolved_by"] == staff.pk
    aware(body["resolved_at"])
    assert body["resolution_note"] == "Called; GP prescribed antibiotics."
    assert body["acknowledged_by"] == staff.pk
    assert level_of(api, patient) == "none"


def test_it_acknowledges_on_the_way_when_resolving_an_open_escalation(api, staff, urgent):
    body = resolve(api, urgent).json()

    assert body["status"] == "resolved"
    assert body["acknowledged_by"] == staff.pk
    assert body["acknowledged_at"] is not None
    assert body["resolved_by"] == staff.pk


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": "   "}, {"note": None},
                                  {"note": ["called"]}, {"note": {"text": "called"}},
                                  {"note": "called\x00"}, {"comment": "called"}])
def test_it_requires_a_note_to_resolve(api, urgent, body):
    response = resolve(api, urgent, body)

    assert response.status_code == 400
    assert "note" in response.json()
    urgent.refresh_from_db()
    assert urgent.status == "open"


@pytest.mark.parametrize("body", ['{"note": "called"', "[]", '"called"', "null"])
def test_it_answers_a_malformed_resolve_body_with_400(api, urgent, body):
    response = api.post(f"/api/escalations/{urgent.pk}/resolve/", body,
                        content_type="application/json")

    assert response.status_code == 400


def test_it_takes_a_form_encoded_note(api, urgent):
    response = api.post(f"/api/escalations/{urgent.pk}/resolve/", {"note": "Called back."})

    assert response.status_code == 200
    assert response.json()["resolution_note"] == "Called back."


def test_it_refuses_to_resolve_twice_with_409(api, urgent):
    first = resolve(api, urgent, {"note": "Called."})

    again = resolve(api, urgent, {"note": "Called again."})

    assert first.status_code == 200
    assert again.status_code == 409
    assert "resolved" in again.json()["detail"]
    urgent.refresh_from_db()
    assert urgent.resolution_note == "Called."


def test_it_moves_a_patient_from_review_to_none(api, staff, session, patient):
    day2 = session.checkins.get(day=2)
    api.post(f"/api/checkins/{day2.pk}/response/", {**NORMAL, "hives": True}, format="json")
    review = Escalation.objects.get()
    assert review.level == "review"
    assert level_of(api, patient) == "review"

    resolve(api, review)

    assert level_of(api, patient) == "none"
