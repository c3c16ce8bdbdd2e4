"""Each message sent for a check-in leaves a delivery record, which its provider's word moves on.

The sweep writes the record with the check-in's own change; the email
provider's webhook (django-anymail's test backend at send time, Postmark's
real webhook bodies after) marks it delivered or failed; the API lists them.
"""

from __future__ import annotations

import base64
import json
import smtplib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from followups.delivery.sweep import followups_sweep
from followups.models import CheckIn, Delivery, Escalation
from followups.services import checkin_resend
from tests.factories import PatientFactory, session_with_checkins

pytestmark = pytest.mark.django_db

WEBHOOK = "/anymail/postmark/tracking/"
SECRET = "provider:test-only-webhook-secret"


def postmark(client, body: dict):
    auth = base64.b64encode(SECRET.encode()).decode()
    return client.post(WEBHOOK, data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Basic {auth}")


def bounced(client, message_id: str):
    return postmark(client, {
        "RecordType": "Bounce", "ID": 4323372036, "Type": "HardBounce", "TypeCode": 1,
        "MessageID": message_id, "Email": "maya@mail.example",
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "BouncedAt": "2026-12-01T10:00:00Z", "Inactive": True, "CanActivate": True})


def delivered(client, message_id: str):
    return postmark(client, {
        "RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound",
        "MessageID": message_id, "Recipient": "maya@mail.example", "Tag": "",
        "DeliveredAt": "2026-12-01T10:00:03Z", "Details": "Accepted", "Metadata": {}})


@pytest.fixture
def day2(patient):
    return session_with_checkins(patient=patient, performed_at=timezone.now()
                                 - timedelta(days=3)).checkins.get(day=2)


@pytest.fixture
def provider(settings):
    """An email provider through django-anymail: each message gets the provider's id."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused(
            {address: (550, b"5.1.1 No such user") for m in messages for address in m.to})


def test_it_records_the_invitation_sent_beside_the_checkin(day2):
    followups_sweep()

    day2.refresh_from_db()
    [delivery] = day2.deliveries.all()
    assert (delivery.channel, delivery.kind, delivery.status) == ("email", "invitation", "sent")
    assert delivery.at == day2.sent_at and delivery.send_generation == 1
    assert delivery.error == "" and delivery.provider_message_id == ""  # plain SMTP: no id


def test_it_records_the_reminder_as_a_second_delivery_with_the_providers_id(day2, provider):
    followups_sweep()
    day2.refresh_from_db()

    with time_machine.travel(day2.sent_at + timedelta(hours=24, minutes=1), tick=False):
        assert followups_sweep().reminders_sent == 1
        reminded_at = timezone.now()

    invitation, reminder = day2.deliveries.order_by("at")
    assert (invitation.kind, reminder.kind) == ("invitation", "reminder")
    assert reminder.at == reminded_at and reminder.status == "sent"
    ids = {invitation.provider_message_id, reminder.provider_message_id}
    assert len(ids) == 2 and "" not in ids  # one provider id per message


def test_a_send_that_failed_leaves_no_delivery_only_the_checkins_reason(day2, settings):
    settings.EMAIL_BACKEND = "tests.followups.delivery.test_deliveries.RefusingBackend"

    followups_sweep()

    day2.refresh_from_db()
    assert day2.status == CheckIn.Status.FAILED and "550" in day2.last_error
    assert not day2.deliveries.exists()


def test_a_message_the_provider_only_queued_is_recorded_queued(day2, provider, monkeypatch):
    from anymail.backends.test import EmailBackend

    def queued(self, message, esp_response):
        from anymail.message import AnymailRecipientStatus

        return {address: AnymailRecipientStatus(message_id="queued-1", status="queued")
                for address in message.to}

    monkeypatch.setattr(EmailBackend, "parse_recipient_status",
                        lambda self, response, payload, message: queued(self, message, response))

    followups_sweep()

    [delivery] = day2.deliveries.all()
    assert (delivery.status, delivery.provider_message_id) == ("queued", "queued-1")


def test_the_providers_receipt_marks_the_delivery_delivered(client, day2, provider):
    followups_sweep()
    [delivery] = day2.deliveries.all()

    assert delivered(client, delivery.provider_message_id).status_code == 200

    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert delivery.at == datetime(2026, 12, 1, 10, 0, 3, tzinfo=UTC)
    assert CheckIn.objects.get(pk=day2.pk).status == CheckIn.Status.SENT


def test_a_bounce_after_the_receipt_fails_the_delivery_and_the_checkin(client, day2, provider):
    followups_sweep()
    [delivery] = day2.deliveries.all()
    delivered(client, delivery.provider_message_id)

    bounced(client, delivery.provider_message_id)

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.error.startswith("Postmark: bounced (The server was unable to deliver")
    day2.refresh_from_db()
    assert day2.status == CheckIn.Status.FAILED and day2.last_error == delivery.error
    # A receipt arriving late never undoes the bounce.
    delivered(client, delivery.provider_message_id)
    assert Delivery.objects.get(pk=delivery.pk).status == "failed"


def test_a_bounce_of_the_invitation_after_the_reminder_went_still_fails_the_checkin(
        client, day2, provider):
    followups_sweep()
    day2.refresh_from_db()
    with time_machine.travel(day2.sent_at + timedelta(hours=24, minutes=1), tick=False):
        followups_sweep()
    invitation = day2.deliveries.get(kind="invitation")

    bounced(client, invitation.provider_message_id)

    assert Delivery.objects.get(pk=invitation.pk).status == "failed"
    assert day2.deliveries.get(kind="reminder").status == "sent"
    assert CheckIn.objects.get(pk=day2.pk).status == CheckIn.Status.FAILED
    assert Escalation.objects.get(checkin=day2).trigger == "undelivered"


def test_a_bounce_of_a_message_sent_before_a_resend_leaves_the_new_send_alone(
        client, day2, provider, staff):
    followups_sweep()
    [first] = day2.deliveries.all()
    checkin_resend(checkin=day2, actor=staff)

    bounced(client, first.provider_message_id)

    first.refresh_from_db()
    assert first.status == "failed"
    day2.refresh_from_db()
    assert day2.status == CheckIn.Status.SCHEDULED and day2.next_action_at is not None
    assert not Escalation.objects.filter(checkin=day2).exists()
    followups_sweep()
    assert day2.deliveries.get(send_generation=2).status == "sent"
    assert CheckIn.objects.get(pk=day2.pk).status == CheckIn.Status.SENT


def test_an_event_about_a_message_we_never_sent_changes_nothing(client, day2, provider):
    followups_sweep()

    assert bounced(client, "not-one-of-ours").status_code == 200
    assert delivered(client, "<checkin-999999-1-invitation@127.0.0.1>").status_code == 200

    assert day2.deliveries.get().status == "sent"
    assert CheckIn.objects.get(pk=day2.pk).status == CheckIn.Status.SENT


def test_the_api_lists_each_checkins_deliveries(api, client, day2, provider):
    followups_sweep()
    [delivery] = day2.deliveries.all()
    bounced(client, delivery.provider_message_id)

    body = api.get(f"/api/checkins/{day2.pk}/").json()

    [listed] = body["deliveries"]
    assert set(listed) == {"channel", "status", "at", "error"}
    assert (listed["channel"], listed["status"]) == ("email", "failed")
    assert datetime.fromisoformat(listed["at"]) == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert listed["error"].startswith("Postmark: bounced")
    listing = api.get("/api/checkins/", {"day": 2}).json()["results"]
    assert [checkin["deliveries"] for checkin in listing] == [body["deliveries"]]
    assert api.get(f"/api/checkins/{day2.session.checkins.get(day=7).pk}/").json()[
        "deliveries"] == []


def test_the_checkin_list_reads_deliveries_in_one_query_whatever_the_page(
        api, clinic, django_assert_max_num_queries):
    performed_at = timezone.now() - timedelta(days=3)
    for number in range(3):
        session_with_checkins(patient=PatientFactory(clinic=clinic, email=f"p{number}@x.example"),
                              performed_at=performed_at)
    followups_sweep()
    api.get("/api/checkins/")  # warm: the user's clinics, the schema's caches
    with django_assert_max_num_queries(20) as few:
        api.get("/api/checkins/")
    session_with_checkins(patient=PatientFactory(clinic=clinic, email="p4@x.example"),
                          performed_at=performed_at)
    followups_sweep()

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get("/api/checkins/").json()["results"]) == 8


def test_no_delivery_record_holds_a_link_token(day2):
    followups_sweep()

    [message] = mail.outbox
    token = message.body.split("/c/", 1)[1].split("/", 1)[0]
    values = [str(value) for value in Delivery.objects.values_list(
        "channel", "kind", "status", "error", "provider_message_id").get()]
    assert not any(token in value for value in values)
