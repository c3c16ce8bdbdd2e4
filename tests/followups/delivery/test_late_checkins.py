"""Nothing lapses: a check-in that could not be sent in time goes out late, is replaced, or
puts the patient in front of someone (clinical-reference.md, "Nothing lapses").

The clinic is in London at 10:00, in winter (London is UTC). The session was
performed on Monday 2 March 2026 at 14:00: day 2 is due on Wednesday 4 March at
10:00, day 7 on Monday 9 March at 10:00; the link lives 72 hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import translation

from followups.delivery.sweep import followups_sweep
from followups.escalations.messages import reason_message
from followups.models import CheckIn, Escalation
from followups.services import response_record
from tests.factories import NORMAL_ANSWERS, response_for, session_with_checkins

pytestmark = pytest.mark.django_db

PERFORMED = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
DAY2_DUE = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
DAY7_DUE = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)


def _recorded_at(when: datetime, patient):
    """The session of 2 March, recorded in the system at ``when``."""
    with time_machine.travel(when, tick=False):
        session = session_with_checkins(patient=patient, performed_at=PERFORMED)
    assert session.checkins.get(day=2).due_at == DAY2_DUE
    assert session.checkins.get(day=7).due_at == DAY7_DUE
    return session


def _sweep_at(when: datetime):
    with time_machine.travel(when, tick=False):
        return followups_sweep()


def _statuses(session) -> dict[int, str]:
    return dict(session.checkins.values_list("day", "status"))


def _emails_to(patient) -> list:
    return [email for email in mail.outbox if email.to == [patient.email]]


# --------------------------------------------------------------------------- on time


def test_it_sends_each_checkin_at_its_due_time_when_nothing_is_late(patient):
    session = _recorded_at(PERFORMED + timedelta(hours=1), patient)

    assert _sweep_at(DAY2_DUE - timedelta(minutes=1)).invitations_sent == 0
    on_day_2 = _sweep_at(DAY2_DUE)
    on_day_7 = _sweep_at(DAY7_DUE)

    assert (on_day_2.invitations_sent, on_day_2.missed, on_day_2.no_response_flags) == (1, 0, 0)
    assert on_day_7.invitations_sent == 1
    day2 = session.checkins.get(day=2)
    assert day2.sent_at == DAY2_DUE and day2.expires_at == DAY2_DUE + timedelta(hours=72)
    assert session.checkins.get(day=7).sent_at == DAY7_DUE
    assert "It works until Saturday 7 March, 10:00." in _emails_to(patient)[0].body
    assert not Escalation.objects.exists()


# ----------------------------------------------------------------- a session recorded late


def test_a_session_recorded_8_days_late_sends_day_7_at_once_and_drops_day_2(patient):
    recorded = PERFORMED + timedelta(days=8)
    session = _recorded_at(recorded, patient)

    report = _sweep_at(recorded)

    assert (report.invitations_sent, report.missed, report.no_response_flags) == (1, 1, 0)
    assert _statuses(session) == {2: CheckIn.Status.MISSED, 7: CheckIn.Status.SENT}
    day2 = session.checkins.get(day=2)
    assert "a later check-in of the session replaces it" in day2.last_error
    day7 = session.checkins.get(day=7)
    # Sent at once, its link alive for the full lifetime from now.
    assert day7.sent_at == recorded and day7.expires_at == recorded + timedelta(hours=72)
    assert len(_emails_to(patient)) == 1
    assert "It works until Friday 13 March, 14:00." in _emails_to(patient)[0].body
    # Nothing more to send, and no flag: the patient is being asked.
    assert _sweep_at(recorded + timedelta(minutes=5)).invitations_sent == 0
    assert not Escalation.objects.exists()


def test_the_day_7_answers_of_a_session_recorded_late_are_judged_by_day_7(patient):
    recorded = PERFORMED + timedelta(days=8)
    session = _recorded_at(recorded, patient)
    _sweep_at(recorded)
    day7 = session.checkins.get(day=7)

    with time_machine.travel(recorded + timedelta(hours=1), tick=False):
        answers = response_for(day7, rash="mild", rash_trend="same", swelling="none")

    assert [reason["code"] for reason in answers.assessment_reasons] == ["RASH_LINGERING"]
    assert answers.assessment_reasons[0]["params"]["day"] == 7


def test_a_session_recorded_12_days_late_flags_the_patient_within_one_sweep(patient, api):
    recorded = PERFORMED + timedelta(days=12)
    session = _recorded_at(recorded, patient)

    report = _sweep_at(recorded)

    assert (report.invitations_sent, report.missed, report.no_response_flags) == (0, 2, 1)
    assert _statuses(session) == {2: CheckIn.Status.MISSED, 7: CheckIn.Status.MISSED}
    assert _emails_to(patient) == []
    escalation = Escalation.objects.get()
    assert (escalation.patient, escalation.checkin.day, escalation.level, escalation.trigger) == (
        patient, 7, "review", Escalation.Trigger.NO_RESPONSE)
    (reason,) = escalation.reasons
    assert reason["code"] == "NO_RESPONSE"
    assert reason["params"] == {"day": 7, "cause": "not_sent", "late_hours": 124}
    with translation.override("en"):
        assert reason_message(reason) == (
            "No check-in could be sent: the day-7 check-in was still unsent 124 hours after its "
            "due time (a session recorded late, or an outage), and no later check-in follows. "
            "Phone the patient")
    # What an integration reads: the patient is on the list, not "none".
    with time_machine.travel(recorded, tick=False):
        assert api.get(f"/api/patients/{patient.pk}/").json()["open_escalation_level"] == \
            "review"
    # Once: later sweeps raise nothing more.
    again = _sweep_at(recorded + timedelta(hours=1))
    assert (again.missed, again.no_response_flags) == (0, 0)
    assert Escalation.objects.count() == 1


# --------------------------------------------------------------------------- an outage


def test_after_a_72_hour_outage_a_late_day_2_goes_out_once_and_is_judged_by_day_2(patient):
    session = _recorded_at(PERFORMED + timedelta(hours=1), patient)
    assert _sweep_at(DAY2_DUE - timedelta(minutes=1)).invitations_sent == 0
    # No sweep for three days; the first one back finds day 2 past its link lifetime,
    # and day 7 more than a day off.
    back = DAY2_DUE + timedelta(hours=72, minutes=30)

    report = _sweep_at(back)
    again = _sweep_at(back + timedelta(minutes=1))

    assert (report.invitations_sent, report.missed, report.no_response_flags) == (1, 0, 0)
    assert again.invitations_sent == 0
    day2 = session.checkins.get(day=2)
    assert day2.status == CheckIn.Status.SENT
    assert (day2.due_at, day2.sent_at) == (DAY2_DUE, back)
    assert day2.expires_at == back + timedelta(hours=72)
    assert len(_emails_to(patient)) == 1
    assert "It works until Tuesday 10 March, 10:30." in _emails_to(patient)[0].body

    # Breakouts "the same" and moderate: day 2's rules see a purge; day 7's would flag
    # BREAKOUTS_PERSIST. The check-in is answered for its own day.
    with time_machine.travel(back + timedelta(hours=2), tick=False):
        answers = response_for(day2, breakouts="moderate", breakouts_trend="same")
    assert answers.assessment_level == "none"
    assert answers.assessment_reasons == []

    # Day 7 still goes out at its own time.
    assert _sweep_at(DAY7_DUE).invitations_sent == 1
    assert session.checkins.get(day=7).sent_at == DAY7_DUE


def test_after_an_outage_day_7_due_within_a_day_replaces_a_late_day_2(patient):
    session = _recorded_at(PERFORMED + timedelta(hours=1), patient)
    back = DAY7_DUE - timedelta(hours=20)

    report = _sweep_at(back)

    assert (report.invitations_sent, report.missed, report.no_response_flags) == (0, 1, 0)
    assert _statuses(session) == {2: CheckIn.Status.MISSED, 7: CheckIn.Status.SCHEDULED}
    assert _sweep_at(DAY7_DUE).invitations_sent == 1
    assert _statuses(session) == {2: CheckIn.Status.MISSED, 7: CheckIn.Status.SENT}
    assert not Escalation.objects.exists()


def test_an_outage_past_the_last_checkins_link_lifetime_flags_the_patient(patient):
    session = _recorded_at(PERFORMED + timedelta(hours=1), patient)
    _sweep_at(DAY2_DUE)
    with time_machine.travel(DAY2_DUE + timedelta(hours=1), tick=False):
        response_for(session.checkins.get(day=2))
    back = DAY7_DUE + timedelta(hours=72, minutes=30)

    report = _sweep_at(back)

    assert (report.invitations_sent, report.missed, report.no_response_flags) == (0, 1, 1)
    (escalation,) = Escalation.objects.all()
    assert escalation.checkin.day == 7
    assert escalation.reasons[0]["params"] == {"day": 7, "cause": "not_sent",
                                               "late_hours": 72}


def test_a_late_watch_checkin_flags_the_patient(patient):
    session = _recorded_at(PERFORMED + timedelta(hours=1), patient)
    _sweep_at(DAY2_DUE)
    _sweep_at(DAY7_DUE)
    with time_machine.travel(DAY7_DUE + timedelta(hours=1), tick=False):
        response_for(session.checkins.get(day=7), rash="mild", rash_trend="same")
    day10 = session.checkins.get(day=10)

    report = _sweep_at(day10.due_at + timedelta(hours=73))

    assert (report.invitations_sent, report.no_response_flags) == (0, 1)
    assert Escalation.objects.get().checkin == day10


def test_a_later_checkin_answered_by_phone_replaces_a_late_one(patient, staff):
    # Day 7 taken by phone while day 2 was never sent: the patient was asked, so the
    # late day 2 is missed and nobody is called about it.
    session = _recorded_at(PERFORMED + timedelta(hours=1), patient)
    with time_machine.travel(DAY7_DUE + timedelta(hours=1), tick=False):
        response_record(checkin=session.checkins.get(day=7),
                        answers={**NORMAL_ANSWERS, "rash": "none", "rash_trend": "",
                                 "swelling": "none"},
                        channel="staff", entered_by=staff)

    report = _sweep_at(DAY7_DUE + timedelta(hours=2))

    assert (report.invitations_sent, report.missed, report.no_response_flags) == (0, 1, 0)
    assert _statuses(session) == {2: CheckIn.Status.MISSED, 7: CheckIn.Status.COMPLETED}
