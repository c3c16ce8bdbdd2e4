"""A check-in is answered for its day (clinical-reference.md): not before its due time, and
judged by its own day's rules whenever it is answered.

The clinic is in London at 10:00, in winter: a session performed on Monday 2 March
2026 has its day-2 check-in due on 4 March at 10:00 and its day-7 one on 9 March.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from followups.models import CheckIn, CheckInResponse, Escalation
from followups.services import CheckInNotOpen, response_record
from tests.factories import NORMAL_ANSWERS, session_with_checkins

pytestmark = pytest.mark.django_db

PERFORMED = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
QUIET = {"rash": "none", "breakouts": "none", "itching": "none", "swelling": "none",
         "pain": "none", "fever": False, "pus": False, "hives": False}


@pytest.fixture
def session(staff, patient):
    return session_with_checkins(patient=patient, practitioner=staff, performed_at=PERFORMED)


def answer(api, checkin, when: datetime, **answers):
    with time_machine.travel(when, tick=False):
        return api.post(f"/api/checkins/{checkin.pk}/response/", {**QUIET, **answers},
                        format="json")


def test_it_refuses_day_7_answers_on_day_3_naming_when_the_checkin_opens(api, session):
    day7 = session.checkins.get(day=7)

    response = answer(api, day7, datetime(2026, 3, 5, 11, 0, tzinfo=UTC), rash="moderate",
                      rash_trend="same")

    assert response.status_code == 400
    assert list(response.json()) == ["checkin"]
    [message] = response.json()["checkin"]
    assert "2026-03-09T10:00:00+00:00" in message
    assert "Monday 9 March 2026, 10:00" in message
    assert not CheckInResponse.objects.exists()
    assert not Escalation.objects.exists()
    day7.refresh_from_db()
    assert day7.status == CheckIn.Status.SCHEDULED


def test_it_takes_the_answers_from_the_due_time_on(api, session):
    day7 = session.checkins.get(day=7)

    early = answer(api, day7, day7.due_at - timedelta(seconds=1), rash="moderate",
                   rash_trend="same")
    on_time = answer(api, day7, day7.due_at, rash="moderate", rash_trend="same")

    assert early.status_code == 400
    assert on_time.status_code == 201
    assert [reason["code"] for reason in on_time.json()["assessment"]["reasons"]] == [
        "RASH_PERSISTS"]


def test_a_day_2_checkin_answered_on_day_8_is_judged_by_day_2(api, session):
    # A moderate rash the same: expected healing at day 2; at day 7 it would persist.
    response = answer(api, session.checkins.get(day=2), datetime(2026, 3, 10, 11, 0, tzinfo=UTC),
                      rash="moderate", rash_trend="same", breakouts="moderate",
                      breakouts_trend="same")

    assert response.status_code == 201
    assert response.json()["assessment"] == {"level": "none", "reasons": []}


def test_the_rules_get_the_checkins_own_day(api, session):
    day7 = session.checkins.get(day=7)

    response = answer(api, day7, datetime(2026, 3, 12, 9, 0, tzinfo=UTC), rash="mild",
                      rash_trend="same")

    [reason] = CheckInResponse.objects.get(checkin=day7).assessment_reasons
    assert (reason["code"], reason["params"]["day"]) == ("RASH_LINGERING", 7)
    assert response.json()["assessment"]["level"] == "watch"


def test_the_service_refuses_early_answers_by_any_channel(session):
    day2 = session.checkins.get(day=2)

    for channel in CheckInResponse.Channel.values:
        with pytest.raises(CheckInNotOpen) as refused:
            response_record(checkin=day2, answers=NORMAL_ANSWERS, channel=channel,
                            now=day2.due_at - timedelta(minutes=1))
        assert refused.value.opens_at == day2.due_at
        assert refused.value.message_dict["checkin"][0].startswith(
            "This day-2 check-in opens at 2026-03-04T10:00:00+00:00")
    assert not CheckInResponse.objects.exists()


def test_the_answers_admin_sends_staff_to_the_check_in_that_takes_them(client, staff):
    # Answers by phone are taken from their check-in's page (its own form, the
    # API's service); the answers list itself adds nothing.
    client.force_login(staff)
    response = client.get("/admin/followups/checkinresponse/add/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/followups/checkin/")
