"""Each message once: recorded sent before the next leaves, a stopping sender gives its
claims back, and a clinic edit never touches a row a sender holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from core.clock import database_now
from followups.delivery import stopping
from followups.delivery.claims import SweepReport, claim_due_rows
from followups.delivery.sweep import _due_checkins, followups_sweep
from followups.models import CheckIn
from followups.services import checkins_process_claimed
from followups.sessions import clinic_update
from tests.factories import PatientFactory, session_with_checkins

pytestmark = pytest.mark.django_db

SENT_SEEN: list[int] = []


class CountingBackend(BaseEmailBackend):
    """Notes, as each message leaves, how many check-ins the database already has as sent."""

    def send_messages(self, messages):
        SENT_SEEN.append(CheckIn.objects.filter(status=CheckIn.Status.SENT).count())
        return len(messages)


class StopAfterSecondBackend(BaseEmailBackend):
    """The worker is asked to stop (SIGTERM) while its second message is going."""

    sent = 0

    def send_messages(self, messages):
        type(self).sent += 1
        if type(self).sent == 2:
            stopping.stop_request()
        return len(messages)


@pytest.fixture(autouse=True)
def running():
    stopping.stop_forget()
    SENT_SEEN.clear()
    yield
    stopping.stop_forget()


def due_day2(clinic, count: int) -> list[CheckIn]:
    performed_at = timezone.now() - timedelta(days=3)
    return [session_with_checkins(patient=PatientFactory(clinic=clinic),
                                  performed_at=performed_at).checkins.get(day=2)
            for _ in range(count)]


def test_it_records_each_invitation_sent_before_the_next_one_leaves(clinic, settings):
    settings.EMAIL_BACKEND = "tests.followups.delivery.test_send_once.CountingBackend"
    due_day2(clinic, 5)

    report = followups_sweep()

    assert report.invitations_sent == 5
    assert SENT_SEEN == [0, 1, 2, 3, 4]


def test_a_sender_asked_to_stop_gives_back_what_it_holds_due_at_once(clinic, settings):
    settings.EMAIL_BACKEND = "tests.followups.delivery.test_send_once.StopAfterSecondBackend"
    StopAfterSecondBackend.sent = 0
    checkins = due_day2(clinic, 5)

    report = followups_sweep()

    rows = CheckIn.objects.filter(pk__in=[c.pk for c in checkins]).order_by("pk")
    sent = [row for row in rows if row.status == CheckIn.Status.SENT]
    left = [row for row in rows if row.status == CheckIn.Status.SCHEDULED]
    assert StopAfterSecondBackend.sent == 2 and len(sent) == 2
    assert report.released == 3 and len(left) == 3
    now = database_now()
    assert all(row.claim_token is None and row.next_action_at <= now for row in left)
    assert all(row.attempts == 0 for row in left)


def test_a_time_zone_change_mid_send_leaves_the_held_rows_to_their_sender(clinic, settings):
    settings.EMAIL_BACKEND = "tests.followups.delivery.test_send_once.CountingBackend"
    held, free = due_day2(clinic, 2), due_day2(clinic, 1)[0]
    now = database_now()
    token, claimed = claim_due_rows(
        queryset=_due_checkins().filter(pk__in=[c.pk for c in held]), now=now, limit=10)
    before = {row.pk: row.next_action_at for row in claimed}

    clinic_update(clinic=clinic, data={"timezone": "Pacific/Auckland"})

    moved = {row.pk: row for row in CheckIn.objects.filter(pk__in=before)}
    assert all(row.claim_token == token for row in moved.values())
    assert {pk: row.next_action_at for pk, row in moved.items()} == before
    assert CheckIn.objects.get(pk=free.pk).claim_token is None

    report = SweepReport()
    checkins_process_claimed(checkins=claimed, token=token, now=now, report=report)

    assert report.invitations_sent == 2 and report.lost_claims == 0
    for row in CheckIn.objects.filter(pk__in=before):
        assert row.status == CheckIn.Status.SENT and row.claim_token is None
        assert row.due_at <= row.sent_at  # the patient's link opens from the send
    assert followups_sweep().invitations_sent <= 1  # the free one, at its new time only
