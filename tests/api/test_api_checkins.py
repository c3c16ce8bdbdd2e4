"""/api/checkins/ and the answers staff take by phone; sessions move their check-ins."""

from __future__ import annotations

from datetime import datetime

import pytest

from followups.models import CheckIn, CheckInResponse
from patients.models import TreatmentSession
from tests.factories import PatientFactory, response_for, session_with_checkins

pytestmark = pytest.mark.django_db

CHECKIN_FIELDS = {"id", "session", "patient", "day", "due_at", "status", "sent_at",
                  "completed_at", "delivery_error", "next_attempt_at", "response",
                  "deliveries"}
ANSWER_FIELDS = {"rash", "breakouts", "itching", "swelling", "pain", "rash_trend",
                 "breakouts_trend", "fever", "pus", "hives", "comments"}
# Beyond the contract's answer fields: how and when the answers came in, and
# whether a photo came with them (the photo itself is only shown to staff in
# the admin).
RESPONSE_FIELDS = ANSWER_FIELDS | {"assessment", "channel", "entered_by", "submitted_at",
                                   "has_photo"}
SESSION_FIELDS = {"id", "patient", "performed_at", "practitioner", "treatment_area", "device",
                  "needle_depth_mm", "notes", "products", "allergy_warnings", "checkins",
                  "cancelled_at"}  # cancelled_at: an addition to the contract's list
# A list that grows without bound: a cursor page, no count.
PAGE_KEYS = {"next", "previous", "results"}

NORMAL = {"rash": "none", "breakouts": "none", "itching": "none", "swelling": "mild",
          "pain": "none", "fever": False, "pus": False, "hives": False}


@pytest.fixture
def session(staff, patient):
    return session_with_checkins(patient=patient, practitioner=staff)


@pytest.fixture
def day2(session):
    return session.checkins.get(day=2)


def answer(api, checkin, **answers):
    return api.post(f"/api/checkins/{checkin.pk}/response/", {**NORMAL, **answers},
                    format="json")


def parse(timestamp: str) -> datetime:
    parsed = datetime.fromisoformat(timestamp)
    assert parsed.tzinfo is not None, f"{timestamp} has no offset"
    return parsed


# Reading ---------------------------------------------------------------------------------


def test_it_lists_checkins_with_the_contract_fields(api, session, patient):
    response = api.get("/api/checkins/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == PAGE_KEYS
    assert len(body["results"]) == 2
    for listed in body["results"]:
        assert set(listed) == CHECKIN_FIELDS
        assert listed["session"] == session.pk
        assert listed["patient"] == patient.pk
        assert listed["status"] == "scheduled"
        assert listed["response"] is None
        parse(listed["due_at"])
    assert [c["day"] for c in body["results"]] == [2, 7]


def test_it_shows_the_stored_answers_on_the_checkin(api, staff, day2):
    answer(api, day2, rash="mild", rash_trend="better", comments="A little pink.")

    body = api.get(f"/api/checkins/{day2.pk}/").json()

    assert set(body) == CHECKIN_FIELDS
    assert body["status"] == "completed"
    parse(body["completed_at"])
    assert set(body["response"]) == RESPONSE_FIELDS
    assert body["response"]["rash"] == "mild"
    assert body["response"]["comments"] == "A little pink."
    assert body["response"]["entered_by"] == staff.pk


def test_it_keeps_checkins_read_only(api, day2):
    assert api.post("/api/checkins/", {"session": day2.session_id, "day": 2},
                    format="json").status_code == 405
    assert api.patch(f"/api/checkins/{day2.pk}/", {"status": "completed"},
                     format="json").status_code == 405
    assert api.delete(f"/api/checkins/{day2.pk}/").status_code == 405
    day2.refresh_from_db()
    assert day2.status == "scheduled"


def test_it_hides_another_clinics_checkins(outsider_api, day2):
    assert outsider_api.get("/api/checkins/").json()["results"] == []
    assert outsider_api.get(f"/api/checkins/{day2.pk}/").status_code == 404
    assert answer(outsider_api, day2).status_code == 404
    assert not CheckInResponse.objects.exists()


# Filters --------------------------------------------------------------------------------------


@pytest.fixture
def two_patients(staff, clinic, patient):
    first = session_with_checkins(patient=patient, practitioner=staff)
    second = session_with_checkins(patient=PatientFactory(clinic=clinic), practitioner=staff)
    response_for(first.checkins.get(day=2))
    return first, second


def ids(response) -> set[int]:
    assert response.status_code == 200, response.json()
    return {c["id"] for c in response.json()["results"]}


def test_it_filters_checkins_by_patient_and_session(api, two_patients, patient):
    first, second = two_patients

    assert ids(api.get(f"/api/checkins/?patient={patient.pk}")) == set(
        first.checkins.values_list("id", flat=True))
    assert ids(api.get(f"/api/checkins/?session={second.pk}")) == set(
        second.checkins.values_list("id", flat=True))


def test_it_filters_checkins_by_day_and_status(api, two_patients):
    first, second = two_patients

    assert ids(api.get("/api/checkins/?day=7")) == set(
        CheckIn.objects.filter(day=7).values_list("id", flat=True))
    assert ids(api.get("/api/checkins/?status=completed")) == {first.checkins.get(day=2).pk}
    assert ids(api.get("/api/checkins/?status=scheduled&day=2")) == {
        second.checkins.get(day=2).pk}
    assert ids(api.get("/api/checkins/?status=missed")) == set()


@pytest.mark.parametrize(("param", "value"), [
    ("patient", "abc"), ("patient", "0"), ("session", "-1"), ("session", "1e3"),
    ("day", "3"), ("day", "two"), ("status", "done"), ("status", "COMPLETED"),
    ("session", "99999999999999999999"),
])
def test_it_refuses_a_bad_filter_value_naming_the_parameter(api, session, param, value):
    response = api.get("/api/checkins/", {param: value})

    assert response.status_code == 400
    assert param in response.json()


# Answers taken by phone -----------------------------------------------------------------------


def test_it_records_who_entered_the_answers(api, staff, day2):
    response = answer(api, day2)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == RESPONSE_FIELDS
    assert body["entered_by"] == staff.pk
    assert body["channel"] == "staff"
    assert body["assessment"] == {"level": "none", "reasons": []}
    stored = CheckInResponse.objects.get(checkin=day2)
    assert stored.entered_by == staff
    day2.refresh_from_db()
    assert day2.status == "completed"
    assert day2.completed_at is not None


def test_it_assesses_a_fever_as_urgent_with_its_reason(api, day2):
    response = answer(api, day2, fever=True)

    assessment = response.json()["assessment"]
    assert assessment["level"] == "urgent"
    fever = [reason for reason in assessment["reasons"] if reason["code"] == "FEVER"]
    assert len(fever) == 1
    assert set(fever[0]) == {"code", "message", "source"}
    assert fever[0]["message"]
    assert fever[0]["source"]


def test_it_assesses_hives_for_review(api, day2):
    assessment = answer(api, day2, hives=True).json()["assessment"]

    assert assessment["level"] == "review"
    assert [reason["code"] for reason in assessment["reasons"]] == ["ALLERGY"]


@pytest.mark.parametrize("status", ["scheduled", "sent", "missed"])
def test_it_takes_answers_while_the_checkin_is_open_or_missed(api, day2, status):
    open_ = status in ("scheduled", "sent")
    CheckIn.objects.filter(pk=day2.pk).update(
        status=status, next_action_at=day2.next_action_at if open_ else None)

    response = answer(api, day2)

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("status", ["cancelled", "failed"])
def test_it_refuses_answers_to_a_closed_checkin_with_409(api, day2, status):
    CheckIn.objects.filter(pk=day2.pk).update(status=status, next_action_at=None)

    response = answer(api, day2)

    assert response.status_code == 409
    assert status in response.json()["detail"]


def test_it_refuses_a_second_answer_with_409(api, day2):
    assert answer(api, day2).status_code == 201

    again = answer(api, day2, fever=True)

    assert again.status_code == 409
    assert "detail" in again.json()
    assert CheckInResponse.objects.get(checkin=day2).fever is False


def test_it_refuses_an_answer_after_the_patient_answered(api, day2):
    response_for(day2)

    assert answer(api, day2).status_code == 409


@pytest.mark.parametrize(("symptom", "level"), [("rash", "mild"), ("breakouts", "severe")])
@pytest.mark.parametrize("trend", [None, "", "MISSING"])
def test_it_requires_the_trend_when_the_symptom_is_present(api, day2, symptom, level, trend):
    answers = {symptom: level}
    if trend != "MISSING":
        answers[f"{symptom}_trend"] = trend

    response = answer(api, day2, **answers)

    assert response.status_code == 400
    assert f"{symptom}_trend" in response.json()
    assert not CheckInResponse.objects.exists()


def test_it_needs_no_trend_when_the_symptom_is_absent(api, day2):
    response = answer(api, day2, rash="none", breakouts="none")

    assert response.status_code == 201
    assert response.json()["rash_trend"] == ""


@pytest.mark.parametrize(("override", "field"), [
    ({"rash": "terrible"}, "rash"),
    ({"pain": None}, "pain"),
    ({"itching": 3}, "itching"),
    ({"rash": "mild", "rash_trend": "sideways"}, "rash_trend"),
    ({"fever": "perhaps"}, "fever"),
    ({"pus": None}, "pus"),
    ({"hives": [True]}, "hives"),
    ({"comments": "x" * 2001}, "comments"),
    ({"comments": "itchy\x00"}, "comments"),
])
def test_it_refuses_bad_answers_naming_the_field(api, day2, override, field):
    response = answer(api, day2, **override)

    assert response.status_code == 400
    assert field in response.json()
    day2.refresh_from_db()
    assert day2.status == "scheduled"


@pytest.mark.parametrize("field", ["rash", "breakouts", "itching", "swelling", "pain",
                                   "fever", "pus", "hives"])
def test_it_requires_every_answer(api, day2, field):
    answers = {key: value for key, value in NORMAL.items() if key != field}

    response = api.post(f"/api/checkins/{day2.pk}/response/", answers, format="json")

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("body", ['{"rash": "none"', "[]", "null", "true", '{"rash": }'])
def test_it_answers_a_malformed_body_with_400(api, day2, body):
    response = api.post(f"/api/checkins/{day2.pk}/response/", body,
                        content_type="application/json")

    assert response.status_code == 400


def test_it_answers_a_lone_surrogate_with_400(api, day2):
    # Valid JSON, but no UTF-8 text: PostgreSQL would refuse it with a 500.
    body = '{"rash": "none", "breakouts": "none", "itching": "none", "swelling": "none", ' \
           '"pain": "none", "fever": false, "pus": false, "hives": false, ' \
           '"comments": "\\ud800"}'

    response = api.post(f"/api/checkins/{day2.pk}/response/", body,
                        content_type="application/json")

    assert response.status_code == 400


def test_it_takes_form_encoded_answers_too(api, day2):
    response = api.post(f"/api/checkins/{day2.pk}/response/",
                        {**NORMAL, "fever": "true", "pus": "false", "hives": "false"})

    assert response.status_code == 201, response.json()
    assert response.json()["assessment"]["level"] == "urgent"


# Sessions move and cancel their check-ins ------------------------------------------------------


def new_session(for_patient, **overrides):
    return {"patient": for_patient.pk, "performed_at": "2030-03-01T15:00:00+00:00",
            "treatment_area": "face", "device": "Dermapen 4", "needle_depth_mm": "0.50",
            **overrides}


def test_it_returns_a_session_with_the_contract_fields(api, patient):
    response = api.post("/api/sessions/", new_session(patient), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == SESSION_FIELDS
    assert parse(body["performed_at"]) == parse("2030-03-01T15:00:00+00:00")
    assert body["cancelled_at"] is None
    assert [set(c) for c in body["checkins"]] == [CHECKIN_FIELDS, CHECKIN_FIELDS]
    assert {(c["day"], parse(c["due_at"])) for c in body["checkins"]} == {
        (2, parse("2030-03-03T10:00:00+00:00")),  # 10:00 in London, the clinic's send hour
        (7, parse("2030-03-08T10:00:00+00:00")),
    }


def test_it_refuses_a_performed_at_without_an_offset(api, patient):
    # Read as UTC, a New York clinic's check-ins would go out five hours early.
    response = api.post("/api/sessions/", new_session(patient,
                                                      performed_at="2030-03-01T15:00:00"),
                        format="json")

    assert response.status_code == 400
    assert "performed_at" in response.json()
    assert not TreatmentSession.objects.exists()


@pytest.mark.parametrize("performed_at", ["9999-12-30T10:00:00+00:00",
                                          "0001-01-01T00:00:00+00:00"])
def test_it_refuses_a_performed_at_it_cannot_schedule_after(api, patient, performed_at):
    response = api.post("/api/sessions/", new_session(patient, performed_at=performed_at),
                        format="json")

    assert response.status_code == 400
    assert "performed_at" in response.json()


@pytest.mark.parametrize(("override", "field"), [
    ({"performed_at": 1700000000}, "performed_at"),
    ({"performed_at": None}, "performed_at"),
    ({"needle_depth_mm": "NaN"}, "needle_depth_mm"),
    ({"needle_depth_mm": "Infinity"}, "needle_depth_mm"),
    ({"needle_depth_mm": [0.5]}, "needle_depth_mm"),
    ({"patient": "maya"}, "patient"),
    ({"patient": 987654}, "patient"),
    ({"products": "LidoNumb"}, "products"),
    ({"products": [7]}, "products"),
    ({"products": [{"product": 987654, "phase": "pre", "lot_number": "L1"}]}, "products"),
    ({"treatment_area": {"zone": "face"}}, "treatment_area"),
])
def test_it_refuses_a_session_of_the_wrong_shape_naming_the_field(api, patient, override,
                                                                   field):
    response = api.post("/api/sessions/", new_session(patient, **override), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not TreatmentSession.objects.exists()


@pytest.mark.parametrize("body", ['{"patient": 1,', "[]", '"session"', "null"])
def test_it_answers_a_malformed_session_body_with_400(api, patient, body):
    response = api.post("/api/sessions/", body, content_type="application/json")

    assert response.status_code == 400


def test_it_moves_scheduled_checkins_with_the_session(api, patient):
    created = api.post("/api/sessions/", new_session(patient), format="json").json()

    response = api.patch(f"/api/sessions/{created['id']}/",
                         {"performed_at": "2030-06-10T09:00:00+01:00"}, format="json")

    assert response.status_code == 200, response.json()
    due = {c.day: c.due_at for c in CheckIn.objects.filter(session_id=created["id"])}
    # 10:00 British Summer Time is 09:00 UTC.
    assert due == {2: parse("2030-06-12T09:00:00+00:00"), 7: parse("2030-06-17T09:00:00+00:00")}
    assert {(c["day"], parse(c["due_at"])) for c in response.json()["checkins"]} == {
        (2, due[2]), (7, due[7])}


def test_it_leaves_sent_and_answered_checkins_where_they_are(api, staff, patient):
    session = session_with_checkins(patient=patient, practitioner=staff)
    day2, day7 = session.checkins.get(day=2), session.checkins.get(day=7)
    response_for(day2)
    CheckIn.objects.filter(pk=day7.pk).update(status="sent")
    before = {c.pk: c.due_at for c in session.checkins.all()}

    response = api.patch(f"/api/sessions/{session.pk}/",
                         {"performed_at": "2030-06-10T09:00:00+01:00"}, format="json")

    assert response.status_code == 200
    assert {c.pk: c.due_at for c in session.checkins.all()} == before


def test_it_cancels_a_sessions_open_checkins_and_keeps_the_answered_ones(api, staff, patient):
    session = session_with_checkins(patient=patient, practitioner=staff)
    day2, day7 = session.checkins.get(day=2), session.checkins.get(day=7)
    assert answer(api, day2, rash="mild", rash_trend="same").status_code == 201

    response = api.delete(f"/api/sessions/{session.pk}/")

    assert response.status_code == 204
    day2.refresh_from_db()
    day7.refresh_from_db()
    assert day2.status == "completed"
    assert CheckInResponse.objects.filter(checkin=day2).exists()
    assert day7.status == "cancelled"
    assert day7.next_action_at is None
    listed = {c["day"]: c["status"] for c in api.get(
        f"/api/checkins/?session={session.pk}").json()["results"]}
    assert listed == {2: "completed", 7: "cancelled"}
    assert api.get(f"/api/sessions/{session.pk}/").json()["cancelled_at"] is not None


def test_it_cancels_a_sent_checkin_with_its_session(api, session):
    day2 = session.checkins.get(day=2)
    CheckIn.objects.filter(pk=day2.pk).update(status="sent")

    api.delete(f"/api/sessions/{session.pk}/")

    day2.refresh_from_db()
    assert day2.status == "cancelled"
    assert answer(api, day2).status_code == 409


def test_it_refuses_to_change_a_cancelled_session(api, session):
    api.delete(f"/api/sessions/{session.pk}/")

    response = api.patch(f"/api/sessions/{session.pk}/", {"notes": "late note"}, format="json")

    assert response.status_code == 400


def test_it_cannot_cancel_another_clinics_session(outsider_api, session):
    assert outsider_api.delete(f"/api/sessions/{session.pk}/").status_code == 404
    assert set(session.checkins.values_list("status", flat=True)) == {"scheduled"}
