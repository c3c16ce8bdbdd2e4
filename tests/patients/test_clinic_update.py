"""Editing a clinic: a new send hour or time zone moves the check-ins still waiting to go out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from followups.models import CheckIn
from followups.sessions import clinic_update, session_cancel
from patients.models import Clinic
from tests.factories import ClinicFactory, PatientFactory, session_with_checkins

pytestmark = pytest.mark.django_db

# A Monday morning in London (GMT, UTC+0); New York is on EST (UTC-5) until
# its clocks go forward on Sunday 8 March 2026.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def session_in(clinic, **kwargs):
    patient = PatientFactory(clinic=clinic)
    return session_with_checkins(patient=patient, performed_at=NOW - timedelta(hours=1),
                                 **kwargs)


def due_times(session) -> dict[int, tuple[datetime, datetime]]:
    return {c.day: (c.due_at, c.next_action_at) for c in CheckIn.objects.filter(session=session)}


def test_it_moves_waiting_checkins_to_a_new_send_hour(clinic):
    session = session_in(clinic)
    assert due_times(session)[2][0] == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)

    clinic_update(clinic=clinic, data={"send_hour": 15})

    assert due_times(session) == {
        2: (datetime(2026, 3, 4, 15, 0, tzinfo=UTC),) * 2,
        7: (datetime(2026, 3, 9, 15, 0, tzinfo=UTC),) * 2,
    }
    assert Clinic.objects.get(pk=clinic.pk).send_hour == 15


def test_it_moves_waiting_checkins_to_a_new_time_zone(clinic):
    session = session_in(clinic)

    clinic_update(clinic=clinic, data={"timezone": "America/New_York"})

    # 10:00 on the clinic's new wall clock: EST on day 2, EDT by day 7.
    assert due_times(session) == {
        2: (datetime(2026, 3, 4, 15, 0, tzinfo=UTC),) * 2,
        7: (datetime(2026, 3, 9, 14, 0, tzinfo=UTC),) * 2,
    }


def test_it_counts_the_days_from_the_sessions_date_in_the_new_time_zone(clinic):
    # 23:30 in London on 2 March is already 3 March in Tokyo.
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    session = session_with_checkins(patient=PatientFactory(clinic=clinic), performed_at=late)

    clinic_update(clinic=clinic, data={"timezone": "Asia/Tokyo", "send_hour": 9})

    # 09:00 in Tokyo (UTC+9) on 5 and 10 March.
    assert due_times(session)[2][0] == datetime(2026, 3, 5, 0, 0, tzinfo=UTC)
    assert due_times(session)[7][0] == datetime(2026, 3, 10, 0, 0, tzinfo=UTC)


def test_it_leaves_sent_checkins_and_cancelled_sessions_where_they_are(clinic):
    sent_session, cancelled_session = session_in(clinic), session_in(clinic)
    sent_at = NOW - timedelta(minutes=5)
    CheckIn.objects.filter(session=sent_session, day=2).update(
        status=CheckIn.Status.SENT, sent_at=sent_at, next_action_at=sent_at + timedelta(days=1))
    session_cancel(actor=None, session=cancelled_session)
    before_sent = due_times(sent_session)
    before_cancelled = due_times(cancelled_session)

    clinic_update(clinic=clinic, data={"send_hour": 18})

    after_sent = due_times(sent_session)
    assert after_sent[2] == before_sent[2]  # out already: its reminder counts from the send
    assert after_sent[7][0] == datetime(2026, 3, 9, 18, 0, tzinfo=UTC)  # still waiting: moved
    assert due_times(cancelled_session) == before_cancelled


def test_it_leaves_other_clinics_checkins_alone(clinic, other_clinic):
    ours, theirs = session_in(clinic), session_in(other_clinic)
    before = due_times(theirs)

    clinic_update(clinic=clinic, data={"send_hour": 7})

    assert due_times(theirs) == before
    assert due_times(ours)[2][0] == datetime(2026, 3, 4, 7, 0, tzinfo=UTC)


def test_it_moves_nothing_when_neither_hour_nor_zone_changes(clinic):
    session = session_in(clinic)
    CheckIn.objects.filter(session=session, day=2).update(attempts=1)
    before = due_times(session)

    updated = clinic_update(clinic=clinic, data={
        "phone": "+44 20 7946 0999", "send_hour": clinic.send_hour, "timezone": clinic.timezone})

    assert updated.phone == "+44 20 7946 0999"
    assert due_times(session) == before
    assert CheckIn.objects.get(session=session, day=2).attempts == 1  # not rescheduled


def test_it_does_work_in_proportion_to_the_sessions_still_waiting(clinic):
    """A clinic's history (sessions whose check-ins are all done) costs no queries."""
    session_in(clinic)

    def queries_for_an_hour_change(hour: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            clinic_update(clinic=clinic, data={"send_hour": hour})
        return len(captured)

    baseline = queries_for_an_hour_change(11)
    for _ in range(5):
        done = session_in(clinic)
        CheckIn.objects.filter(session=done).update(
            status=CheckIn.Status.COMPLETED, completed_at=NOW, next_action_at=None)
    assert queries_for_an_hour_change(12) == baseline

    session_in(clinic)
    assert queries_for_an_hour_change(13) > baseline


def test_it_changes_clinic_and_checkins_in_one_transaction(clinic, monkeypatch):
    session = session_in(clinic)
    before = due_times(session)

    def fails(*, session):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("followups.sessions.checkins_reschedule_for_session", fails)
    with pytest.raises(RuntimeError):
        clinic_update(clinic=clinic, data={"send_hour": 16})

    assert Clinic.objects.get(pk=clinic.pk).send_hour == 10
    assert due_times(session) == before


def test_it_lets_only_superusers_change_a_clinic(clinic, staff, superuser):
    with pytest.raises(PermissionDenied):
        clinic_update(actor=staff, clinic=clinic, data={"send_hour": 8})
    assert Clinic.objects.get(pk=clinic.pk).send_hour == 10

    clinic_update(actor=superuser, clinic=clinic, data={"send_hour": 8})
    assert Clinic.objects.get(pk=clinic.pk).send_hour == 8


def test_it_refuses_a_bad_time_zone_a_bad_hour_and_a_taken_name(clinic):
    ClinicFactory(name="Hilltop Aesthetics")
    for data, field in (({"timezone": "Mars/Olympus"}, "timezone"),
                        ({"send_hour": 24}, "send_hour"),
                        ({"name": "Hilltop Aesthetics"}, "name")):
        with pytest.raises(ValidationError) as refused:
            clinic_update(clinic=clinic, data=data)
        assert field in str(refused.value)

    stored = Clinic.objects.get(pk=clinic.pk)
    assert (stored.name, stored.timezone, stored.send_hour) == (
        "Riverside Skin Clinic", "Europe/London", 10)


def test_it_takes_the_stored_values_not_the_instance_it_is_given(clinic):
    """The admin's form writes its values onto the instance before the service runs."""
    session = session_in(clinic)
    clinic.send_hour = 14  # as ModelForm validation leaves it

    clinic_update(clinic=clinic, data={"send_hour": 14})

    assert due_times(session)[2][0] == datetime(2026, 3, 4, 14, 0, tzinfo=UTC)

