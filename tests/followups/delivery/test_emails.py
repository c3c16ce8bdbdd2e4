"""Check-in emails: from the clinic, a stable Message-ID, no health information."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import override_settings
from django.utils import timezone

from followups.delivery.sweep import followups_sweep
from followups.link.tokens import token_hash
from followups.models import CheckIn, CheckInLink
from followups.services import checkin_resend
from tests.factories import ProductFactory, session_with_checkins

pytestmark = pytest.mark.django_db

LINK = re.compile(r"(https?://[^\s\"<]+)/c/([A-Za-z0-9_\-]+)/")


@pytest.fixture
def sent(patient):
    product = ProductFactory(name="LidoNumb 5%", ingredients=["lidocaine"])
    session = session_with_checkins(
        patient=patient, performed_at=timezone.now() - timedelta(days=3),
        products=[{"product": product, "phase": "pre", "lot_number": "LOT-1"}],
    )
    followups_sweep()
    return session.checkins.get(day=2)


def test_it_sends_plain_text_and_html_from_the_clinic(sent, patient, clinic):
    [message] = mail.outbox

    assert message.to == [patient.email]
    assert clinic.name in message.from_email
    assert message.reply_to == [clinic.email]
    assert message.alternatives[0][1] == "text/html"
    assert "Maya" in message.body


def test_it_carries_no_health_information_and_no_surname(sent):
    [message] = mail.outbox
    everything = " ".join([message.subject, message.body, message.alternatives[0][0],
                           *map(str, message.extra_headers.values())]).lower()

    for word in ("quintero", "microneedling", "needle", "lidocaine", "lidonumb", "lot-1",
                 "rash", "breakout", "fever", "pus", "swelling", "pain", "face"):
        assert word not in everything, word


def test_it_builds_the_link_from_site_url_and_stores_only_the_hash(patient):
    session = session_with_checkins(patient=patient,
                                    performed_at=timezone.now() - timedelta(days=3))
    with override_settings(SITE_URL="https://clinic.example.com"):
        followups_sweep()
    [message] = mail.outbox
    base, token = LINK.search(message.body).groups()
    sent = session.checkins.get(day=2)

    assert base == "https://clinic.example.com"
    assert len(token) >= 43  # 256 bits, URL-safe base64
    assert CheckInLink.objects.filter(token_hash=token_hash(token), checkin=sent).exists()
    assert not CheckInLink.objects.filter(token_hash=token).exists()


def test_it_gives_each_checkin_email_a_stable_message_id(sent):
    [message] = mail.outbox

    assert message.extra_headers["Message-ID"] == f"<checkin-{sent.pk}-1-invitation@127.0.0.1>"


def test_a_resend_kills_the_old_link_and_sends_a_new_message(sent, staff):
    old_token = LINK.search(mail.outbox[0].body).group(2)

    checkin_resend(checkin=sent, actor=staff)
    followups_sweep()

    assert len(mail.outbox) == 2
    new_token = LINK.search(mail.outbox[1].body).group(2)
    assert new_token != old_token
    assert mail.outbox[1].extra_headers["Message-ID"] != mail.outbox[0].extra_headers["Message-ID"]
    assert CheckInLink.objects.get(token_hash=token_hash(old_token)).revoked_at is not None
    assert CheckInLink.objects.get(token_hash=token_hash(new_token)).revoked_at is None
    assert CheckIn.objects.get(pk=sent.pk).status == CheckIn.Status.SENT


def test_a_failing_mail_server_is_retried_then_the_checkin_is_failed(patient, settings):
    settings.EMAIL_BACKEND = "tests.followups.delivery.test_emails.BrokenBackend"
    session = session_with_checkins(patient=patient,
                                    performed_at=timezone.now() - timedelta(days=3))
    checkin = session.checkins.get(day=2)

    for attempt in range(settings.DELIVERY_MAX_ATTEMPTS):
        report = followups_sweep(now=timezone.now() + timedelta(hours=attempt))
        assert report.errors == ["ConnectionRefusedError"]

    checkin.refresh_from_db()
    assert checkin.status == CheckIn.Status.FAILED
    assert "ConnectionRefusedError" in checkin.last_error
    assert checkin.next_action_at is None


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp down")


def test_a_resent_link_works_for_the_full_lifetime_from_its_resend(sent, staff, settings):
    checkin = sent
    resent_at = timezone.now() + settings.CHECKIN_LINK_TTL - timedelta(hours=2)

    with time_machine.travel(resent_at, tick=False):
        checkin_resend(checkin=checkin, actor=staff)
        followups_sweep()

    checkin.refresh_from_db()
    assert checkin.status == CheckIn.Status.SENT
    assert checkin.sent_at == resent_at
    assert checkin.expires_at == resent_at + settings.CHECKIN_LINK_TTL
    link = CheckInLink.objects.filter(checkin=checkin, revoked_at__isnull=True).get()
    assert link.expires_at == resent_at + settings.CHECKIN_LINK_TTL
    until = (resent_at + settings.CHECKIN_LINK_TTL).astimezone(
        ZoneInfo(checkin.session.patient.clinic.timezone))
    assert f"It works until {until:%A} {until.day} {until:%B}, {until:%H:%M}." \
        in mail.outbox[-1].body
