"""Comments to read are due within one business day and shown as overdue after that, on the
dashboard and on the patient's page (clinical-reference.md, "Comments: warning signs").

The clinic is in London, in winter (London is UTC). Friday 13 March 2026 at 15:00 a
patient writes "Can I wear make-up?": due on Monday 16 March at 15:00. A comment of
Saturday 14 March is due at the end of Monday.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from followups.escalations.comments import comment_mark_read
from followups.services import response_record
from tests.factories import NORMAL_ANSWERS, PatientFactory, session_with_checkins

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("admin:index")
FRIDAY_WRITTEN = datetime(2026, 3, 13, 15, 0, tzinfo=UTC)
SATURDAY_WRITTEN = datetime(2026, 3, 14, 10, 0, tzinfo=UTC)
MONDAY_DUE = datetime(2026, 3, 16, 15, 0, tzinfo=UTC)
QUIET = {**NORMAL_ANSWERS, "rash": "none", "rash_trend": "", "swelling": "none"}


def _comment(clinic, written: datetime, text: str = "Can I wear make-up?", **patient):
    patient = PatientFactory(clinic=clinic, **patient)
    session = session_with_checkins(patient=patient, performed_at=written - timedelta(days=3))
    return response_record(checkin=session.checkins.get(day=2),
                           answers={**QUIET, "comments": text}, channel="patient_link",
                           now=written)


def _figures(client) -> dict:
    return {figure.label: figure for figure in client.get(DASHBOARD).context["dashboard"].figures}


@pytest.fixture
def comments(clinic, other_clinic):
    friday = _comment(clinic, FRIDAY_WRITTEN, first_name="Fay")
    saturday = _comment(clinic, SATURDAY_WRITTEN, first_name="Sam")
    # Another clinic's, long overdue: never counted for this clinic's staff.
    _comment(other_clinic, FRIDAY_WRITTEN - timedelta(days=7))
    assert friday.comment_waiting and saturday.comment_waiting
    return friday, saturday


@pytest.mark.parametrize(("now", "overdue"), [
    (MONDAY_DUE - timedelta(minutes=1), 0),  # Friday's: not a business day old yet
    (MONDAY_DUE, 1),  # Friday's, from its due time on
    (datetime(2026, 3, 16, 23, 59, tzinfo=UTC), 1),  # Saturday's: all of Monday to read it
    (datetime(2026, 3, 17, 0, 0, tzinfo=UTC), 2),
])
def test_the_dashboard_counts_the_comments_to_read_that_are_overdue(staff_client, comments,
                                                                    now, overdue):
    with time_machine.travel(now, tick=False):
        shown = _figures(staff_client)
        listed = staff_client.get(shown["Comments to read, overdue"].url).context["cl"]

    assert shown["Comments to read"].value == "2"
    figure = shown["Comments to read, overdue"]
    assert figure.value == str(overdue)
    assert figure.tone == ("urgent" if overdue else "neutral")
    assert listed.result_count == overdue


def test_the_overdue_list_holds_the_overdue_comments(staff_client, comments):
    friday, _saturday = comments

    with time_machine.travel(MONDAY_DUE, tick=False):
        listed = staff_client.get(_figures(staff_client)["Comments to read, overdue"].url)

    assert [row.pk for row in listed.context["cl"].result_list] == [friday.pk]


def test_a_comment_marked_read_is_no_longer_overdue(staff_client, staff, comments):
    friday, saturday = comments

    with time_machine.travel(MONDAY_DUE + timedelta(hours=1), tick=False):
        comment_mark_read(response=friday, actor=staff)
        shown = _figures(staff_client)

    assert (shown["Comments to read"].value, shown["Comments to read, overdue"].value) == (
        "1", "0")


def test_the_patients_page_shows_when_a_comment_is_due_and_when_it_is_overdue(staff_client,
                                                                             comments):
    friday, _saturday = comments
    page_url = reverse("admin:patients_patient_change", args=[friday.checkin.session.patient_id])

    with time_machine.travel(MONDAY_DUE - timedelta(minutes=1), tick=False):
        before = staff_client.get(page_url).content.decode()
    with time_machine.travel(MONDAY_DUE, tick=False):
        after = staff_client.get(page_url).content.decode()

    assert "To read by 16 Mar 2026, 15:00." in before
    assert "Overdue" not in before
    assert "Overdue</strong> since 16 Mar 2026, 15:00: read it now." in after
    assert "To read by" not in after


def test_a_weekend_comment_is_due_at_the_end_of_monday_on_the_page(staff_client, comments):
    _friday, saturday = comments
    page_url = reverse("admin:patients_patient_change",
                       args=[saturday.checkin.session.patient_id])

    with time_machine.travel(datetime(2026, 3, 16, 12, 0, tzinfo=UTC), tick=False):
        page = staff_client.get(page_url).content.decode()

    assert "To read by 17 Mar 2026, 00:00." in page


def test_each_clinic_counts_its_own_business_days(superuser_client, clinic, other_clinic):
    # Saturday 01:00 UTC: a Saturday in London (due at the end of Monday there, Tuesday
    # 00:00 UTC) but still Friday 21:00 in New York (due Monday 21:00 there, 01:00 UTC).
    written = datetime(2026, 3, 14, 1, 0, tzinfo=UTC)
    _comment(clinic, written)
    _comment(other_clinic, written)
    counted = {}

    for now in (datetime(2026, 3, 16, 23, 59, tzinfo=UTC), datetime(2026, 3, 17, 0, 0, tzinfo=UTC),
                datetime(2026, 3, 17, 1, 0, tzinfo=UTC)):
        with time_machine.travel(now, tick=False):
            counted[now.strftime("%a %H:%M")] = _figures(superuser_client)[
                "Comments to read, overdue"].value

    assert counted == {"Mon 23:59": "0", "Tue 00:00": "1", "Tue 01:00": "2"}
