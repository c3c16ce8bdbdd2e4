"""Calls recorded against an escalation, assignment, and the desk's figures through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from followups.delivery.sweep import followups_sweep
from followups.models import AuditEvent, ContactAttempt, Escalation
from tests.factories import UserFactory, response_for, session_with_checkins

pytestmark = pytest.mark.django_db

CONTACT_FIELDS = {"id", "outcome", "note", "next_attempt_at", "by", "at"}


@pytest.fixture
def session(afternoon, staff, patient):
    return session_with_checkins(patient=patient, practitioner=staff)


@pytest.fixture
def urgent(session):
    response_for(session.checkins.get(day=2), fever=True)
    return Escalation.objects.get()


def contacts_url(escalation) -> str:
    return f"/api/escalations/{escalation.pk}/contacts/"


def test_it_records_a_call_with_no_answer_and_keeps_the_flag_open_and_assigned(api, staff,
                                                                              urgent):
    then = datetime.now(UTC) + timedelta(hours=1)

    response = api.post(contacts_url(urgent), {"outcome": "no_answer", "note": "Rang twice",
                                               "next_attempt_at": then.isoformat()},
                        format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == CONTACT_FIELDS
    assert body["outcome"] == "no_answer" and body["note"] == "Rang twice"
    assert body["by"] == staff.pk
    assert datetime.fromisoformat(body["next_attempt_at"]) == then
    urgent.refresh_from_db()
    assert urgent.status == "acknowledged"
    assert urgent.acknowledged_by == staff
    assert urgent.assigned_to == staff
    assert urgent.next_attempt_at == then
    assert urgent.next_action_at is None  # the urgent alert stops chasing
    listed = api.get("/api/escalations/").json()["results"][0]
    assert listed["assigned_to"] == staff.pk
    assert [contact["outcome"] for contact in listed["contacts"]] == ["no_answer"]
    assert datetime.fromisoformat(listed["next_attempt_at"]) == then
    assert [c["id"] for c in api.get(contacts_url(urgent)).json()] == [body["id"]]
    assert AuditEvent.objects.filter(action="contact", actor=staff).count() == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"outcome": "spoke"}, "outcome"),
    ({}, "outcome"),
    ({"outcome": "reached", "next_attempt_at": "tomorrow"}, "next_attempt_at"),
    ({"outcome": "no_answer", "next_attempt_at": "2020-01-01T10:00:00+00:00"}, "next_attempt_at"),
    ({"outcome": "other", "note": "x" * 2001}, "note"),
    ({"outcome": "other", "note": "nul\x00byte"}, "note"),
])
def test_it_refuses_bad_input_with_a_400_naming_the_field(api, urgent, body, field):
    response = api.post(contacts_url(urgent), body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not ContactAttempt.objects.exists()
    urgent.refresh_from_db()
    assert urgent.status == "open"


def test_it_refuses_a_call_on_a_resolved_flag(api, urgent):
    api.post(f"/api/escalations/{urgent.pk}/resolve/", {"note": "Seen by GP"}, format="json")

    response = api.post(contacts_url(urgent), {"outcome": "reached"}, format="json")

    assert response.status_code == 409
    assert not ContactAttempt.objects.exists()


def test_it_answers_404_for_another_clinics_escalation(outsider_api, urgent):
    assert outsider_api.get(contacts_url(urgent)).status_code == 404
    assert outsider_api.post(contacts_url(urgent), {"outcome": "reached"},
                             format="json").status_code == 404
    assert outsider_api.post(f"/api/escalations/{urgent.pk}/assign/", {"user": None},
                             format="json").status_code == 404


def test_it_assigns_only_staff_of_the_escalations_clinic(api, clinic, urgent, outsider):
    colleague = UserFactory(username="colleague", clinics=[clinic])

    refused = api.post(f"/api/escalations/{urgent.pk}/assign/", {"user": outsider.pk},
                       format="json")
    assigned = api.post(f"/api/escalations/{urgent.pk}/assign/", {"user": colleague.pk},
                        format="json")

    assert refused.status_code == 400 and "user" in refused.json()
    assert assigned.status_code == 200
    assert assigned.json()["assigned_to"] == colleague.pk
    assert [e["id"] for e in api.get(f"/api/escalations/?assigned_to={colleague.pk}")
            .json()["results"]] == [urgent.pk]
    unassigned = api.post(f"/api/escalations/{urgent.pk}/assign/", {"user": None}, format="json")
    assert unassigned.json()["assigned_to"] is None


def test_a_passed_call_back_reminds_the_assignee_once_without_health_data(api, staff, urgent,
                                                                         patient):
    then = datetime.now(UTC) + timedelta(hours=1)
    api.post(contacts_url(urgent), {"outcome": "no_answer", "next_attempt_at": then.isoformat()},
             format="json")
    mail.outbox.clear()

    followups_sweep()  # not yet due
    assert mail.outbox == []
    with time_machine.travel(then + timedelta(minutes=1), tick=False):
        first = followups_sweep()
        again = followups_sweep()

    assert first.callback_reminders_sent == 1 and again.callback_reminders_sent == 0
    [reminder] = mail.outbox
    assert reminder.to == [staff.email]
    text = reminder.subject + reminder.body
    assert f"/admin/followups/escalation/{urgent.pk}/change/" in text
    for secret in (patient.first_name, patient.last_name, patient.phone, "fever", "Fever"):
        assert not secret or secret not in text


def test_metrics_count_what_was_sent_answered_flagged_and_how_fast(api, clinic, staff, session,
                                                                   patient):
    followups_sweep()  # sends the day-2 check-in by email
    response_for(session.checkins.get(day=2), fever=True)
    escalation = Escalation.objects.get()
    with time_machine.travel(escalation.created_at + timedelta(minutes=30), tick=False):
        api.post(contacts_url(escalation), {"outcome": "reached"}, format="json")
    with time_machine.travel(escalation.created_at + timedelta(minutes=90), tick=False):
        api.post(f"/api/escalations/{escalation.pk}/resolve/", {"note": "GP today"},
                 format="json")
        metrics = api.get(f"/api/metrics/?clinic={clinic.pk}&days=30").json()

    assert metrics["checkins_sent"] == 1 and metrics["answered"] == 1
    assert metrics["response_rate"] == 1.0
    assert metrics["by_channel"] == {"email": {"sent": 1, "answered": 1, "response_rate": 1.0}}
    assert metrics["by_day"]["2"] == {"sent": 1, "answered": 1, "response_rate": 1.0}
    assert metrics["by_day"]["7"] == {"sent": 0, "answered": 0, "response_rate": None}
    assert set(metrics["by_day"]) == {"2", "7", "10"}
    assert metrics["flagged_rate"] == 1.0
    assert metrics["median_minutes_to_first_contact"] == 30.0
    assert metrics["p90_minutes_to_first_contact"] == 30.0
    assert metrics["median_minutes_to_resolution"] == 90.0
    assert metrics["urgent_uncontacted_2h"] == 0
    assert metrics["comments_overdue"] == 0


def test_metrics_count_an_urgent_flag_nobody_called_within_2_hours(api, urgent):
    with time_machine.travel(urgent.created_at + timedelta(hours=2, minutes=1), tick=False):
        late = api.get("/api/metrics/").json()
        api.post(contacts_url(urgent), {"outcome": "voicemail"}, format="json")
        still = api.get("/api/metrics/").json()

    assert late["urgent_uncontacted_2h"] == 1
    assert late["median_minutes_to_first_contact"] is None
    assert still["urgent_uncontacted_2h"] == 1  # the call came too late: it still counts
    assert still["median_minutes_to_first_contact"] == 121.0


@pytest.mark.parametrize("query", ["days=0", "days=366", "days=many", "clinic=abc"])
def test_metrics_refuse_a_bad_parameter_with_a_400_naming_it(api, query):
    response = api.get(f"/api/metrics/?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_metrics_are_scoped_to_the_users_clinics(api, outsider_api, urgent, clinic):
    with time_machine.travel(urgent.created_at + timedelta(hours=3), tick=False):
        ours = api.get("/api/metrics/").json()
        theirs = outsider_api.get("/api/metrics/").json()
        refused = outsider_api.get(f"/api/metrics/?clinic={clinic.pk}")

    assert ours["urgent_uncontacted_2h"] == 1
    assert theirs["urgent_uncontacted_2h"] == 0
    assert refused.status_code == 400 and "clinic" in refused.json()


def test_metrics_answer_every_key_the_interface_names(api):
    interface = {"checkins_sent", "answered", "response_rate", "by_channel", "by_day",
                 "flagged_rate", "median_minutes_to_first_contact",
                 "p90_minutes_to_first_contact", "median_minutes_to_resolution",
                 "urgent_uncontacted_2h", "comments_overdue"}

    body = api.get("/api/metrics/?days=30").json()
    schema = api.get("/api/schema/?format=json").json()

    assert interface <= set(body)
    documented = schema["components"]["schemas"]["Metrics"]["properties"]
    assert set(body) == set(documented)
