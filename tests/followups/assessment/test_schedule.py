"""Due times: the clinic's send hour, on local calendar days, across DST."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from followups.assessment.schedule import (
    LateFate,
    checkin_due_at,
    checkin_is_late,
    comment_due_at,
    comments_overdue_cutoff,
    late_checkin_fate,
)
from followups.delivery.sweep import followups_sweep
from followups.models import CheckIn
from followups.sessions import session_cancel, session_update
from tests.factories import ClinicFactory, PatientFactory, session_with_checkins

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("zone", "performed", "day", "expected_utc"),
    [
        # Winter in London: local 10:00 is 10:00 UTC.
        ("Europe/London", datetime(2026, 1, 5, 15, 0, tzinfo=UTC), 2,
         datetime(2026, 1, 7, 10, 0, tzinfo=UTC)),
        # Summer in London: local 10:00 is 09:00 UTC.
        ("Europe/London", datetime(2026, 6, 5, 15, 0, tzinfo=UTC), 7,
         datetime(2026, 6, 12, 9, 0, tzinfo=UTC)),
        # Late evening in New York is already the next day in UTC: the local
        # calendar day counts.
        ("America/New_York", datetime(2026, 1, 6, 3, 30, tzinfo=UTC), 2,
         datetime(2026, 1, 7, 15, 0, tzinfo=UTC)),
        # Early morning in Sydney is still the previous day in UTC.
        ("Australia/Sydney", datetime(2026, 1, 5, 20, 0, tzinfo=UTC), 2,
         datetime(2026, 1, 7, 23, 0, tzinfo=UTC)),
    ],
)
def test_it_counts_local_calendar_days_at_the_send_hour(zone, performed, day, expected_utc):
    assert checkin_due_at(performed_at=performed, timezone=zone, send_hour=10,
                          day=day) == expected_utc


def test_it_keeps_the_wall_clock_hour_across_spring_forward():
    # London moves to BST on 29 March 2026: 10:00 local is 10:00 UTC before
    # and 09:00 UTC after.
    performed = datetime(2026, 3, 26, 14, 0, tzinfo=LONDON)

    day2 = checkin_due_at(performed_at=performed, timezone="Europe/London", send_hour=10, day=2)
    day7 = checkin_due_at(performed_at=performed, timezone="Europe/London", send_hour=10, day=7)

    assert day2 == datetime(2026, 3, 28, 10, 0, tzinfo=UTC)
    assert day7 == datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
    assert day7.astimezone(LONDON).hour == 10


def test_it_keeps_the_wall_clock_hour_across_fall_back():
    performed = datetime(2026, 10, 22, 11, 0, tzinfo=LONDON)

    day7 = checkin_due_at(performed_at=performed, timezone="Europe/London", send_hour=10, day=7)

    assert day7 == datetime(2026, 10, 29, 10, 0, tzinfo=UTC)
    assert day7.astimezone(LONDON).hour == 10


def test_it_moves_a_send_hour_inside_the_dst_gap_to_a_real_instant():
    # 01:00-02:00 does not exist in London on 29 March 2026.
    performed = datetime(2026, 3, 27, 12, 0, tzinfo=LONDON)

    due = checkin_due_at(performed_at=performed, timezone="Europe/London", send_hour=1, day=2)

    assert due.astimezone(LONDON).date().isoformat() == "2026-03-29"
    assert due == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_it_refuses_a_naive_time():
    with pytest.raises(ValueError):
        checkin_due_at(performed_at=datetime(2026, 1, 1, 9), timezone="UTC", send_hour=10, day=2)


@pytest.mark.django_db
def test_it_sends_the_day2_email_at_ten_local_after_the_clocks_change():
    clinic = ClinicFactory(timezone="Europe/London", send_hour=10)
    patient = PatientFactory(clinic=clinic)
    with time_machine.travel(datetime(2026, 3, 27, 16, 0, tzinfo=UTC), tick=False):
        session = session_with_checkins(patient=patient, performed_at=timezone.now())
    day2 = session.checkins.get(day=2)
    assert day2.due_at == datetime(2026, 3, 29, 9, 0, tzinfo=UTC)  # 10:00 BST

    with time_machine.travel(datetime(2026, 3, 29, 8, 59, tzinfo=UTC), tick=False):
        assert followups_sweep().invitations_sent == 0
    with time_machine.travel(datetime(2026, 3, 29, 9, 0, tzinfo=UTC), tick=False):
        assert followups_sweep().invitations_sent == 1


@pytest.mark.django_db
def test_it_moves_unsent_checkins_when_the_session_moves(patient):
    session = session_with_checkins(patient=patient,
                                    performed_at=timezone.now() - timedelta(days=3))
    followups_sweep()  # day 2 goes out; day 7 stays scheduled
    sent_before = CheckIn.objects.get(session=session, day=2).due_at
    later = session.performed_at + timedelta(days=1)

    session_update(actor=None, session=session, data={"performed_at": later})

    day2 = CheckIn.objects.get(session=session, day=2)
    day7 = CheckIn.objects.get(session=session, day=7)
    assert day2.status == CheckIn.Status.SENT and day2.due_at == sent_before
    assert day7.due_at == checkin_due_at(performed_at=later, timezone=patient.clinic.timezone,
                                         send_hour=patient.clinic.send_hour, day=7)
    assert day7.next_action_at == day7.due_at


@pytest.mark.django_db
def test_it_cancels_open_checkins_with_the_session_and_keeps_answered_ones(patient):
    from tests.factories import response_for

    session = session_with_checkins(patient=patient,
                                    performed_at=timezone.now() - timedelta(days=3))
    response_for(session.checkins.get(day=2))

    session_cancel(actor=None, session=session)

    statuses = dict(CheckIn.objects.filter(session=session).values_list("day", "status"))
    assert statuses == {2: CheckIn.Status.COMPLETED, 7: CheckIn.Status.CANCELLED}
    assert followups_sweep().invitations_sent == 0


@pytest.mark.django_db
def test_it_marks_a_checkin_missed_instead_of_sending_it_days_late(patient):
    # Recorded on day 6, at 12:00: day 2 is four days past its due time and day 7 is
    # due tomorrow at 10:00, within a day: day 7 replaces it (clinical-reference.md,
    # "Nothing lapses"; the other fates are tests/followups/delivery/test_late_checkins.py).
    recorded = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    with time_machine.travel(recorded, tick=False):
        session = session_with_checkins(patient=patient, performed_at=recorded - timedelta(days=6))
        report = followups_sweep()

    assert report.invitations_sent == 0
    assert report.missed == 1
    assert session.checkins.get(day=2).status == CheckIn.Status.MISSED
    assert session.checkins.get(day=7).status == CheckIn.Status.SCHEDULED


REPLACED_WITHIN = timedelta(hours=24)
NOW = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("later", "fate"), [
    # The session's last check-in: nothing can be sent, someone calls.
    ((), LateFate.UNSENDABLE),
    # A later one due within a day (or already due) goes out instead.
    (((True, NOW + timedelta(hours=24)),), LateFate.REPLACED),
    (((True, NOW - timedelta(days=3)),), LateFate.REPLACED),
    # A later one already sent, answered, missed or failed reached or flagged the patient.
    (((False, NOW + timedelta(days=3)),), LateFate.REPLACED),
    # Later ones further off: this one goes out late.
    (((True, NOW + timedelta(hours=24, seconds=1)),), LateFate.SEND_LATE),
])
def test_it_decides_the_fate_of_a_late_checkin_from_the_later_ones(later, fate):
    assert late_checkin_fate(later=later, now=NOW, replaced_within=REPLACED_WITHIN) is fate


def test_a_checkin_is_late_only_past_its_link_lifetime():
    due = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    lifetime = timedelta(hours=72)

    assert not checkin_is_late(due_at=due, now=due + lifetime, link_lifetime=lifetime)
    assert checkin_is_late(due_at=due, now=due + lifetime + timedelta(seconds=1),
                           link_lifetime=lifetime)


# --------------------------------------------------------------------------- comments to read


@pytest.mark.parametrize(("written", "due"), [
    # A weekday's comment: the same time on the next business day.
    (datetime(2026, 3, 10, 15, 0, tzinfo=UTC), datetime(2026, 3, 11, 15, 0, tzinfo=UTC)),
    # Friday's: Monday's.
    (datetime(2026, 3, 13, 15, 0, tzinfo=UTC), datetime(2026, 3, 16, 15, 0, tzinfo=UTC)),
    # The weekend's: the end of Monday.
    (datetime(2026, 3, 14, 9, 0, tzinfo=UTC), datetime(2026, 3, 17, 0, 0, tzinfo=UTC)),
    (datetime(2026, 3, 15, 23, 0, tzinfo=UTC), datetime(2026, 3, 17, 0, 0, tzinfo=UTC)),
])
def test_a_comment_to_read_is_due_one_business_day_later(written, due):
    assert comment_due_at(submitted_at=written, timezone="Europe/London") == due


def test_business_days_are_the_clinics_own():
    # Friday 21:00 in New York (summer time since 8 March) is Saturday 01:00 UTC: still a
    # Friday comment there, due on Monday.
    written = datetime(2026, 3, 14, 1, 0, tzinfo=UTC)

    due = comment_due_at(submitted_at=written, timezone="America/New_York")

    assert due.astimezone(ZoneInfo("America/New_York")).strftime("%A %H:%M") == "Monday 21:00"


@hypothesis_settings(max_examples=2000, deadline=None)
@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
       st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9)),
       st.sampled_from(["Europe/London", "America/New_York", "Asia/Tokyo", "UTC"]))
def test_a_list_can_tell_the_overdue_comments_by_their_time_written(written, waited, zone):
    submitted_at = written.replace(tzinfo=UTC)
    now = submitted_at + waited

    overdue = comment_due_at(submitted_at=submitted_at, timezone=zone) <= now

    assert (submitted_at <= comments_overdue_cutoff(now=now, timezone=zone)) is overdue
