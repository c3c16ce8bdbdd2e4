"""The watch check-in: one more check-in on day 10 after a watch answer at day 7."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction

from followups.delivery.sweep import followups_sweep
from followups.escalations.messages import reason_message
from followups.models import CheckIn, CheckInResponse, Escalation
from followups.services import response_record
from tests.factories import NORMAL_ANSWERS, ClinicFactory, PatientFactory, session_with_checkins

pytestmark = pytest.mark.django_db

QUIET = {**NORMAL_ANSWERS, "rash": "none", "rash_trend": "", "swelling": "none"}
MILD_RASH_BETTER = {**QUIET, "rash": "mild", "rash_trend": "better"}
PERFORMED = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # a Monday, in London's winter time


@pytest.fixture
def session(db):
    clinic = ClinicFactory(timezone="Europe/Paris", send_hour=9)
    patient = PatientFactory(clinic=clinic)
    return session_with_checkins(patient=patient, performed_at=PERFORMED)


def record(checkin, answers, now=None):
    return response_record(checkin=checkin, answers=answers,
                           channel=CheckInResponse.Channel.PATIENT_LINK,
                           now=now or checkin.due_at + timedelta(hours=2))


def day(session, number):
    return session.checkins.get(day=number)


def test_it_schedules_day_10_and_no_call_for_a_mild_improving_rash_at_day_7(session):
    record(day(session, 2), {**QUIET, "rash": "moderate", "rash_trend": "same"})

    answers = record(day(session, 7), MILD_RASH_BETTER)

    assert answers.assessment_level == "watch"
    assert [reason["code"] for reason in answers.assessment_reasons] == ["RASH_LINGERING"]
    assert not Escalation.objects.filter(checkin__day=7).exists()
    watch = day(session, 10)
    assert watch.status == CheckIn.Status.SCHEDULED
    # At the clinic's send hour (09:00 in Paris) on the 10th local calendar day.
    assert watch.due_at == datetime(2025, 3, 13, 8, 0, tzinfo=UTC)
    assert watch.next_action_at == watch.due_at


def test_it_schedules_day_10_beside_a_review_flag_that_lists_the_watch_finding(session):
    answers = record(day(session, 7), {**QUIET, "swelling": "mild", "breakouts": "moderate",
                                       "breakouts_trend": "same"})

    assert answers.assessment_level == "review"
    escalation = Escalation.objects.get(checkin__day=7)
    assert {reason["code"] for reason in escalation.reasons} == {"BREAKOUTS_PERSIST",
                                                                 "SWELLING_LINGERING"}
    assert day(session, 10).status == CheckIn.Status.SCHEDULED


@pytest.mark.parametrize("answers", [QUIET, {**QUIET, "rash": "moderate", "rash_trend": "same"}],
                         ids=["nothing to watch", "a review finding only"])
def test_it_schedules_no_day_10_without_a_watch_finding(session, answers):
    record(day(session, 7), answers)

    assert not session.checkins.filter(day=10).exists()


def test_it_schedules_no_day_10_for_a_watch_finding_at_day_2(session):
    record(day(session, 2), {**QUIET, "swelling": "mild"})

    assert not session.checkins.filter(day=10).exists()


def test_it_creates_the_day_10_checkin_in_the_answers_transaction(session):
    with pytest.raises(RuntimeError), transaction.atomic():
        record(day(session, 7), MILD_RASH_BETTER)
        assert session.checkins.filter(day=10).exists()
        raise RuntimeError("the answers' transaction rolls back")

    assert not session.checkins.filter(day=10).exists()


def test_it_honours_the_watch_day_setting(session, settings):
    settings.CHECKIN_WATCH_DAY = 12

    record(day(session, 7), MILD_RASH_BETTER)

    assert day(session, 12).due_at == datetime(2025, 3, 15, 8, 0, tzinfo=UTC)


def test_it_makes_a_late_watch_checkin_due_at_once(session):
    late = PERFORMED + timedelta(days=11)

    record(day(session, 7), MILD_RASH_BETTER, now=late)

    assert day(session, 10).due_at == late


def test_it_raises_rash_persists_for_a_rash_at_day_10(session):
    record(day(session, 7), MILD_RASH_BETTER)

    answers = record(day(session, 10), MILD_RASH_BETTER)

    assert answers.assessment_level == "review"
    escalation = Escalation.objects.get(checkin__day=10)
    assert [reason["code"] for reason in escalation.reasons] == ["RASH_PERSISTS"]
    assert "day-10" in reason_message(escalation.reasons[0])
    assert not session.checkins.filter(day__gt=10).exists()


def test_it_finds_nothing_at_day_10_once_the_rash_has_gone(session):
    record(day(session, 7), MILD_RASH_BETTER)

    answers = record(day(session, 10), QUIET)

    assert answers.assessment_level == "none"
    assert not Escalation.objects.exists()


def test_it_sends_reminds_and_flags_the_silent_day_10_checkin_like_the_others(session):
    record(day(session, 7), MILD_RASH_BETTER)
    watch = day(session, 10)
    before = len(mail.outbox)

    followups_sweep(now=watch.due_at)
    watch.refresh_from_db()
    assert watch.status == CheckIn.Status.SENT
    assert len(mail.outbox) == before + 1

    with time_machine.travel(watch.sent_at + timedelta(hours=25), tick=False):
        assert followups_sweep(now=watch.sent_at + timedelta(hours=25)).reminders_sent == 1
    followups_sweep(now=watch.sent_at + timedelta(hours=49))
    flag = Escalation.objects.get(checkin=watch)
    assert flag.trigger == Escalation.Trigger.NO_RESPONSE
    assert [reason["code"] for reason in flag.reasons] == ["NO_RESPONSE"]
    assert reason_message(flag.reasons[0]).startswith("Day-10 check-in not answered")

    followups_sweep(now=watch.sent_at + timedelta(hours=73))
    watch.refresh_from_db()
    assert watch.status == CheckIn.Status.MISSED


def test_it_moves_a_waiting_day_10_checkin_with_the_session(session):
    from followups.sessions import session_update

    record(day(session, 7), MILD_RASH_BETTER)

    session_update(actor=None, session=session,
                   data={"performed_at": PERFORMED + timedelta(days=1)})

    assert day(session, 10).due_at == datetime(2025, 3, 14, 8, 0, tzinfo=UTC)
