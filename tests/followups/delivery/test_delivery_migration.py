"""Check-ins sent before the delivery records existed get theirs, provider's id and all.

The database is taken back to before 0009 (the check-in still holding the
provider's id of its last message), check-ins are written as that schema
had them, and the migrations run forward again: each sent message has its
record, and a bounce of one of them still fails its check-in.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from followups.models import CheckIn, Delivery, Escalation

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("followups", "0008_delivery")]
SENT_AT = datetime(2026, 11, 20, 10, tzinfo=UTC)


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


def apps_before(executor: MigrationExecutor):
    """The models as they were at 0008, beside the other apps' as they are."""
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "followups"]
    return executor.loader.project_state(others + BEFORE).apps


@pytest.fixture
def before_the_records():
    """The schema as of 0008, put back to the latest afterwards whatever happened."""
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    yield apps_before(migrate(BEFORE))
    migrate(latest)


def old_checkin(apps, *, day: int, status: str, provider_message_id: str = "",
                reminded: bool = False, sent: bool = True):
    Clinic = apps.get_model("patients", "Clinic")
    Patient = apps.get_model("patients", "Patient")
    Session = apps.get_model("patients", "TreatmentSession")
    CheckInThen = apps.get_model("followups", "CheckIn")
    clinic = Clinic.objects.first() or Clinic.objects.create(name="Riverside",
                                                             timezone="Europe/London")
    patient = Patient.objects.create(clinic=clinic, first_name="Maya", last_name="Q",
                                     email=f"maya{day}{status}@mail.example")
    practitioner, _new = apps.get_model("auth", "User").objects.get_or_create(username="nurse")
    session = Session.objects.create(patient=patient, practitioner=practitioner,
                                     performed_at=SENT_AT - timedelta(days=3),
                                     treatment_area="face", device="pen", needle_depth_mm=0.5)
    return CheckInThen.objects.create(
        session=session, day=day, status=status, due_at=SENT_AT, send_generation=2,
        sent_at=SENT_AT if sent else None,
        reminder_sent_at=SENT_AT + timedelta(hours=24) if reminded else None,
        expires_at=SENT_AT + timedelta(hours=72) if sent else None,
        next_action_at=SENT_AT + timedelta(hours=24) if status in ("sent", "scheduled") else None,
        provider_message_id=provider_message_id)


def test_each_message_sent_gets_its_record_with_the_providers_id_on_the_last(
        before_the_records):
    apps = before_the_records
    invited = old_checkin(apps, day=2, status="sent", provider_message_id="pm-invitation")
    reminded = old_checkin(apps, day=7, status="completed", provider_message_id="pm-reminder",
                           reminded=True)
    smtp_only = old_checkin(apps, day=10, status="missed", reminded=True)
    waiting = old_checkin(apps, day=3, status="scheduled", sent=False)

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    def records(checkin) -> list[tuple]:
        return list(Delivery.objects.filter(checkin_id=checkin.pk).order_by("at").values_list(
            "channel", "kind", "send_generation", "status", "at", "error", "provider_message_id"))

    assert records(invited) == [("email", "invitation", 2, "sent", SENT_AT, "", "pm-invitation")]
    assert records(reminded) == [
        ("email", "invitation", 2, "sent", SENT_AT, "", ""),
        ("email", "reminder", 2, "sent", SENT_AT + timedelta(hours=24), "", "pm-reminder"),
    ]
    assert [kind for _c, kind, *_rest in records(smtp_only)] == ["invitation", "reminder"]
    assert records(waiting) == []
    assert "provider_message_id" not in {field.name for field in CheckIn._meta.get_fields()}


def test_a_bounce_of_a_message_sent_before_the_migration_still_fails_its_checkin(
        before_the_records, client):
    invited = old_checkin(before_the_records, day=2, status="sent",
                          provider_message_id="pm-before")
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    auth = base64.b64encode(b"provider:test-only-webhook-secret").decode()
    response = client.post("/anymail/postmark/tracking/", data=json.dumps({
        "RecordType": "Bounce", "Type": "HardBounce", "TypeCode": 1, "ID": 1,
        "MessageID": "pm-before", "Email": "maya@mail.example", "Description": "Unknown user",
        "BouncedAt": "2026-11-20T10:05:00Z"}), content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}")

    assert response.status_code == 200
    checkin = CheckIn.objects.get(pk=invited.pk)
    assert checkin.status == CheckIn.Status.FAILED
    assert checkin.last_error == "Postmark: bounced (Unknown user)"
    assert Delivery.objects.get(checkin=checkin).status == "failed"
    assert Escalation.objects.get(checkin=checkin).trigger == "undelivered"


def test_going_back_puts_the_providers_id_on_its_checkin_again(before_the_records):
    reminded = old_checkin(before_the_records, day=7, status="sent",
                           provider_message_id="pm-reminder", reminded=True)
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    apps = apps_before(migrate(BEFORE))

    CheckInThen = apps.get_model("followups", "CheckIn")
    assert CheckInThen.objects.get(pk=reminded.pk).provider_message_id == "pm-reminder"
    assert not apps.get_model("followups", "Delivery").objects.exists()
