"""The channel interface: a session retries a dropped connection once, failures are told
apart, and a check-in whose patient has two channels goes out through both.

A pager channel stands in for the next channel beside email (texts): it
records what it sent and fails as it is told to.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.core import mail
from django.utils import timezone

from followups.delivery.channels import checkin_channels, registry
from followups.delivery.channels.base import (
    Channel,
    ChannelSession,
    Failure,
    SendResult,
    Undeliverable,
)
from followups.delivery.channels.email import EmailChannel
from followups.delivery.channels.email.smtp import email_failure
from followups.delivery.sweep import followups_sweep
from followups.models import CheckIn
from tests.factories import PatientFactory, session_with_checkins


class PagerSession(ChannelSession[str]):
    channel: Pager

    def transmit(self, message: str) -> SendResult:
        answer = self.channel.answers.pop(0) if self.channel.answers else None
        if answer is not None:
            raise answer
        self.channel.sent.append(message)
        return SendResult(provider_message_id=f"pager-{len(self.channel.sent)}")

    def reset(self) -> None:
        self.channel.resets += 1


class Pager(Channel[str]):
    name = "pager"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.answers: list[BaseException | None] = []
        self.resets = 0
        self.sessions = 0

    def checkin_message(self, checkin: CheckIn, *, token: str, reminder: bool) -> str:
        return f"check-in #{checkin.pk} {'reminder' if reminder else 'invitation'}"

    def session(self) -> PagerSession:
        self.sessions += 1
        return PagerSession(self)

    def classify(self, error: BaseException) -> Failure:
        if isinstance(error, LookupError):
            return Failure.PERMANENT
        if isinstance(error, ConnectionResetError):
            return Failure.CONNECTION
        return Failure.TEMPORARY


@pytest.fixture
def pager():
    return Pager()


@pytest.fixture
def two_channels(pager, monkeypatch):
    """Every patient is reached by email and by pager."""
    registry.register(pager)
    monkeypatch.setattr("followups.services.checkin_channels",
                        lambda checkin, reminder=False: [registry.get("email"), pager])
    yield pager
    registry.unregister(pager.name)


@pytest.fixture
def day2(patient):
    return session_with_checkins(patient=patient, performed_at=timezone.now()
                                 - timedelta(days=3)).checkins.get(day=2)


# A session ------------------------------------------------------------------------------


def test_it_reconnects_once_after_a_dropped_connection(pager):
    pager.answers = [ConnectionResetError("peer hung up")]

    with pager.session() as session:
        result = session.send("hello")

    assert result.sent and pager.sent == ["hello"]
    assert pager.resets == 2  # after the drop, and at the end


def test_a_connection_dropped_twice_is_a_temporary_failure(pager):
    pager.answers = [ConnectionResetError("hung up"), ConnectionResetError("again")]

    result = pager.session().send("hello")

    assert result.failure is Failure.TEMPORARY and not result.sent
    assert result.reason == "ConnectionResetError: again"
    assert result.error_type == "ConnectionResetError" and pager.sent == []


def test_a_permanent_failure_is_not_tried_again(pager):
    pager.answers = [LookupError("no such pager")]

    result = pager.session().send("hello")

    assert result.permanent and pager.sent == [] and pager.answers == []


@pytest.mark.parametrize(("error", "failure"), [
    (smtplib.SMTPRecipientsRefused({"a@x.example": (550, b"no such user")}), Failure.PERMANENT),
    (smtplib.SMTPRecipientsRefused({"a@x.example": (451, b"try later")}), Failure.TEMPORARY),
    (smtplib.SMTPResponseException(554, b"refused"), Failure.PERMANENT),
    (smtplib.SMTPResponseException(452, b"full"), Failure.TEMPORARY),
    (smtplib.SMTPResponseException(421, b"closing"), Failure.CONNECTION),
    (smtplib.SMTPServerDisconnected("gone"), Failure.CONNECTION),
    (smtplib.SMTPAuthenticationError(535, b"bad credentials"), Failure.TEMPORARY),
    (ConnectionRefusedError("down"), Failure.TEMPORARY),
    (TimeoutError(), Failure.TEMPORARY),
    (Undeliverable("invalid email address"), Failure.PERMANENT),
    (AnymailRecipientsRefused("all refused"), Failure.PERMANENT),
    (AnymailAPIError("unprocessable", status_code=422), Failure.PERMANENT),
    (AnymailAPIError("slow down", status_code=429), Failure.TEMPORARY),
    (AnymailAPIError("outage", status_code=503), Failure.TEMPORARY),
])
def test_the_email_channel_tells_a_servers_answers_apart(error, failure):
    assert email_failure(error) is failure


@pytest.mark.django_db
def test_a_patient_who_chose_email_is_invited_by_email(day2):
    assert [channel.name for channel in checkin_channels(day2)] == ["email"]
    assert isinstance(registry.get("email"), EmailChannel)


# Two channels ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_checkin_goes_out_through_each_of_its_channels_with_a_record_each(two_channels,
                                                                             day2):
    report = followups_sweep()

    assert report.invitations_sent == 1
    assert len(mail.outbox) == 1
    assert two_channels.sent == [f"check-in #{day2.pk} invitation"]
    records = {d.channel: (d.status, d.provider_message_id) for d in day2.deliveries.all()}
    assert records == {"email": ("sent", ""), "pager": ("sent", "pager-1")}


@pytest.mark.django_db
def test_one_channel_refusing_while_another_went_is_a_failed_record_not_a_failed_checkin(
        two_channels, day2):
    two_channels.answers = [LookupError("no such pager")]

    report = followups_sweep()

    assert report.invitations_sent == 1 and report.errors == ["LookupError"]
    assert CheckIn.objects.get(pk=day2.pk).status == CheckIn.Status.SENT
    pager_record = day2.deliveries.get(channel="pager")
    assert (pager_record.status, pager_record.error) == ("failed", "LookupError: no such pager")
    assert day2.deliveries.get(channel="email").status == "sent"


@pytest.mark.django_db
def test_a_checkin_none_of_whose_messages_went_is_a_failed_attempt_permanent_only_if_all_are(
        two_channels, day2, settings):
    settings.EMAIL_BACKEND = "tests.followups.delivery.test_deliveries.RefusingBackend"  # a 550
    two_channels.answers = [OSError("pager network down")]

    followups_sweep()

    day2.refresh_from_db()
    assert day2.status == CheckIn.Status.SCHEDULED and day2.attempts == 1  # retried later
    assert day2.last_error.startswith("email: ") and "550" in day2.last_error
    assert "pager: OSError: pager network down" in day2.last_error
    assert not day2.deliveries.exists()

    two_channels.answers = [LookupError("no such pager")]
    followups_sweep(now=timezone.now() + timedelta(hours=1))

    day2.refresh_from_db()
    assert day2.status == CheckIn.Status.FAILED and day2.attempts == 2


@pytest.mark.django_db
def test_each_channel_opens_one_session_for_a_batch(two_channels, clinic):
    performed_at = timezone.now() - timedelta(days=3)
    for number in range(3):
        session_with_checkins(patient=PatientFactory(clinic=clinic, email=f"p{number}@x.example"),
                              performed_at=performed_at)

    assert followups_sweep().invitations_sent == 3
    assert two_channels.sessions == 1 and len(two_channels.sent) == 3
