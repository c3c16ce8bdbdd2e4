"""An acne-prone patient's usual mild breakouts, through the service: no watch, no flag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from followups.models import CheckIn, CheckInResponse, Escalation
from followups.services import response_record
from tests.factories import NORMAL_ANSWERS, PatientFactory, session_with_checkins

pytestmark = pytest.mark.django_db

QUIET = {**NORMAL_ANSWERS, "rash": "none", "rash_trend": "", "swelling": "none"}
MILD_SAME = {**QUIET, "breakouts": "mild", "breakouts_trend": "same"}
PERFORMED = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def _answered(clinic, *, acne_prone: bool) -> CheckInResponse:
    """Day 2 and day 7 both with the patient's usual mild breakouts, staying the same."""
    patient = PatientFactory(clinic=clinic, acne_prone=acne_prone)
    session = session_with_checkins(patient=patient, performed_at=PERFORMED)
    for day in (2, 7):
        checkin = session.checkins.get(day=day)
        answers = response_record(checkin=checkin, answers=MILD_SAME,
                                  channel=CheckInResponse.Channel.PATIENT_LINK,
                                  now=checkin.due_at + timedelta(hours=1))
    return answers


def test_an_acne_prone_patients_usual_breakouts_are_not_watched_at_day_7(clinic):
    answers = _answered(clinic, acne_prone=True)

    assert (answers.assessment_level, answers.assessment_reasons) == ("none", [])
    assert not CheckIn.objects.filter(session=answers.checkin.session, day=10).exists()
    assert not Escalation.objects.exists()


def test_the_same_breakouts_are_watched_for_a_patient_not_acne_prone(clinic):
    answers = _answered(clinic, acne_prone=False)

    assert answers.assessment_level == "watch"
    assert [reason["code"] for reason in answers.assessment_reasons] == ["BREAKOUTS_LINGERING"]
    assert CheckIn.objects.filter(session=answers.checkin.session, day=10).exists()
