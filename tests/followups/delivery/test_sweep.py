from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from followups.delivery.sweep import followups_sweep
from followups.models import CheckIn
from tests.factories import session_with_checkins

pytestmark = pytest.mark.django_db


def test_it_sends_a_due_checkin_once(patient):
    session = session_with_checkins(patient=patient,
                                    performed_at=timezone.now() - timedelta(days=3))

    first = followups_sweep()
    second = followups_sweep()

    assert first.invitations_sent == 1
    assert second.invitations_sent == 0
    assert len(mail.outbox) == 1
    day2 = session.checkins.get(day=2)
    assert day2.status == CheckIn.Status.SENT
    assert session.checkins.get(day=7).status == CheckIn.Status.SCHEDULED


def test_it_reminds_once_then_flags_no_response_then_marks_missed(patient):
    session = session_with_checkins(patient=patient,
                                    performed_at=timezone.now() - timedelta(days=3))
    followups_sweep()
    day2 = session.checkins.get(day=2)
    sent_at = CheckIn.objects.get(pk=day2.pk).sent_at

    with time_machine.travel(sent_at + timedelta(hours=24, minutes=1)):
        assert followups_sweep().reminders_sent == 1
        assert followups_sweep().reminders_sent == 0
    with time_machine.travel(sent_at + timedelta(hours=48, minutes=1)):
        assert followups_sweep().no_response_flags == 1
        assert followups_sweep().no_response_flags == 0
    with time_machine.travel(sent_at + timedelta(hours=72, minutes=1)):
        assert followups_sweep().missed == 1
    day2.refresh_from_db()
    assert day2.status == CheckIn.Status.MISSED
    assert day2.escalations.get().reasons[0]["code"] == "NO_RESPONSE"
    assert len(mail.outbox) == 2


def test_it_names_a_sent_checkin_without_its_send_time_as_broken(patient, caplog):
    session = session_with_checkins(patient=patient,
                                    performed_at=timezone.now() - timedelta(days=3))
    followups_sweep()
    day2 = session.checkins.get(day=2)
    CheckIn.objects.filter(pk=day2.pk).update(sent_at=None, next_action_at=timezone.now())

    report = followups_sweep()

    assert report.errors == ["ValueError"]
    assert "was never marked sent" in caplog.text
    day2.refresh_from_db()
    assert day2.status == CheckIn.Status.SENT  # tried again once its lease runs out
