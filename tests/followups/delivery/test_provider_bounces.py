"""An email provider's bounce, arriving at its signed tracking webhook, fails the check-in.

django-anymail's own test backend stands in for the provider's API at send
time (it gives each message an id, as the provider would); the bounce is the
provider's real webhook body, posted with the shared secret.
"""

from __future__ import annotations

import base64
import importlib
import json
from datetime import timedelta

import pytest
from django.urls import clear_url_caches
from django.utils import timezone

from followups.delivery.channels.email.messages import checkin_message_id
from followups.delivery.sweep import followups_sweep
from followups.models import CheckIn, Delivery, Escalation
from tests.factories import PatientFactory, session_with_checkins

pytestmark = pytest.mark.django_db

WEBHOOK = "/anymail/postmark/tracking/"


@pytest.fixture
def sent(clinic, settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    patient = PatientFactory(clinic=clinic, email="maya@mail.example")
    checkin = session_with_checkins(patient=patient, performed_at=timezone.now()
                                    - timedelta(days=3)).checkins.get(day=2)
    assert followups_sweep().invitations_sent == 1
    checkin.refresh_from_db()
    assert checkin.status == CheckIn.Status.SENT and provider_message_id(checkin) != ""
    return checkin


def provider_message_id(checkin: CheckIn) -> str:
    """The provider's id for the check-in's message, as its delivery record keeps it."""
    return Delivery.objects.get(checkin=checkin).provider_message_id


def bounce(client, message_id: str, *, secret: str = "provider:test-only-webhook-secret"):
    body = {"RecordType": "Bounce", "ID": 4323372036, "Type": "HardBounce", "TypeCode": 1,
            "MessageID": message_id, "Email": "maya@mail.example",
            "Description": "The server was unable to deliver your message (ex: unknown user).",
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist",
            "BouncedAt": "2026-12-01T10:00:00Z", "Inactive": True, "CanActivate": True}
    auth = base64.b64encode(secret.encode()).decode()
    return client.post(WEBHOOK, data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Basic {auth}")


def test_a_hard_bounce_fails_the_checkin_with_its_reason_and_flags_a_call(client, sent):
    response = bounce(client, provider_message_id(sent))

    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == CheckIn.Status.FAILED and sent.next_action_at is None
    assert sent.last_error.startswith("Postmark: bounced")
    assert "unable to deliver" in sent.last_error
    flag = Escalation.objects.get(checkin=sent)
    assert (flag.trigger, flag.level) == ("undelivered", "review")


def test_our_own_message_id_is_matched_too_but_only_for_the_current_send(client, sent):
    ours = checkin_message_id(sent, reminder=False)
    CheckIn.objects.filter(pk=sent.pk).update(send_generation=2)  # resent since

    bounce(client, ours)
    assert CheckIn.objects.get(pk=sent.pk).status == CheckIn.Status.SENT

    sent.send_generation = 2
    bounce(client, checkin_message_id(sent, reminder=True))
    assert CheckIn.objects.get(pk=sent.pk).status == CheckIn.Status.FAILED


def test_an_unsigned_or_wrongly_signed_event_changes_nothing(client, sent):
    assert bounce(client, provider_message_id(sent), secret="provider:guess").status_code in (
        400, 401, 403)
    assert client.post(WEBHOOK, data="{}", content_type="application/json").status_code in (
        400, 401, 403)

    assert CheckIn.objects.get(pk=sent.pk).status == CheckIn.Status.SENT


def test_a_bounce_for_an_answered_checkin_leaves_it_answered(client, sent):
    CheckIn.objects.filter(pk=sent.pk).update(status=CheckIn.Status.COMPLETED,
                                              next_action_at=None)

    assert bounce(client, provider_message_id(sent)).status_code == 200
    assert CheckIn.objects.get(pk=sent.pk).status == CheckIn.Status.COMPLETED
    assert not Escalation.objects.filter(checkin=sent).exists()


def test_the_webhook_is_not_served_without_a_secret(settings):
    from clinic import urls

    settings.ANYMAIL = {}
    try:
        importlib.reload(urls)
        assert not any(str(pattern.pattern) == "anymail/" for pattern in urls.urlpatterns)
    finally:
        settings.ANYMAIL = {"WEBHOOK_SECRET": "provider:test-only-webhook-secret"}
        importlib.reload(urls)
        clear_url_caches()
