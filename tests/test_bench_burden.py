"""The alert-burden benchmark: its populations through the real rules, without a database."""

from __future__ import annotations

import pytest

from bench.burden import (
    ACNE_WORRYING_KINDS,
    CHATTY_LANGUAGES,
    CLINICS,
    MENTIONS,
    NORMAL_TARGET,
    WORRYING_KINDS,
    burden_bench,
    burden_measure,
    course_assess,
    population,
)
from followups.assessment.rules import Severity, Trend


def test_it_meets_the_burden_targets_with_the_fixed_seed():
    measured = burden_measure()

    assert (measured.normal, measured.worrying) == (2000, 100)
    assert measured.normal_share <= NORMAL_TARGET
    assert measured.worrying_flagged == measured.worrying
    assert 0 < measured.normal_watched < measured.normal


def test_it_gives_the_same_figures_for_the_same_seed():
    assert burden_measure(normal=300, worrying=22) == burden_measure(normal=300, worrying=22)


def test_it_flags_every_kind_of_worrying_course():
    patients = population(normal=0, worrying=len(WORRYING_KINDS) * 3)

    assert all(course_assess(patient).flagged for patient in patients)


def test_it_asks_day_10_only_after_a_watch_answer_at_day_7():
    for patient in population(normal=200, worrying=0):
        course = course_assess(patient)
        assert course.checkins == (3 if course.watched else 2)


def test_it_reports_two_targets_and_the_share_watched_for_every_clinic():
    rows = burden_bench()

    for clinic in CLINICS.values():
        own = [row for row in rows if f", {clinic.title}:" in row.operation]
        assert [row.target is not None for row in own[:3]] == [True, True, False]
        assert "normal-course" in own[0].operation and "worrying-course" in own[1].operation
        assert "watched" in own[2].operation and own[2].verdict == "info"
    general = [row for row in rows if ", general clinic:" in row.operation]
    acne = [row for row in rows if ", acne clinic" in row.operation]
    assert [row.verdict for row in general] == ["pass", "pass", "info"]
    assert [row.verdict for row in acne] == ["pass", "pass", "info"]


@pytest.mark.parametrize("clinic", ["general", "acne",
                                    "chatty"])
def test_every_clinic_meets_both_targets(clinic):
    measured = burden_measure(clinic=clinic)

    assert (measured.normal, measured.worrying) == (2000, 100)
    assert measured.normal_share <= NORMAL_TARGET
    assert measured.worrying_flagged == measured.worrying


# --------------------------------------------------------------------------- the acne clinic


def test_the_acne_clinic_is_60_percent_acne_prone_a_third_with_their_usual_acne():
    normal = population(worrying=0, clinic="acne")
    prone = [patient for patient in normal if patient.acne_prone]
    usual = [patient for patient in prone if all(
        (answers.breakouts, answers.breakouts_trend) == (Severity.MILD, Trend.SAME)
        for answers in patient.answers.values())]

    assert 0.57 <= len(prone) / len(normal) <= 0.63
    assert 0.30 <= len(usual) / len(prone) <= 0.37


def test_usual_acne_is_neither_watched_nor_flagged_for_itself():
    # Their breakouts alone: the acne clinic's usual-acne patients with nothing else.
    normal = population(worrying=0, clinic="acne")
    usual = [patient for patient in normal if patient.acne_prone and all(
        answers.breakouts == Severity.MILD for answers in patient.answers.values())]
    breakouts_only = [patient for patient in usual if all(
        all(value in (Severity.NONE, None, False) for name, value in answers.values.items()
            if not name.startswith("breakouts"))
        for answers in (patient.answers[2], patient.answers[7]))
        and not patient.comments and not patient.allergies]

    assert breakouts_only
    for patient in breakouts_only:
        course = course_assess(patient)
        assert (course.flagged, course.watched) == (False, False)


def test_it_flags_every_kind_of_worrying_course_in_the_acne_clinic():
    patients = population(normal=0, worrying=len(ACNE_WORRYING_KINDS) * 3, clinic="acne")

    assert all(course_assess(patient).flagged for patient in patients)


# --------------------------------------------------------------------------- the chatty clinic


def test_a_tenth_of_the_chatty_clinics_checkins_name_a_sign_in_passing_in_three_languages():
    measured = burden_measure(clinic="chatty")
    written, _flagged = measured.comments_of("mention")
    normal = population(worrying=0, clinic="chatty")
    asked = sum(course_assess(patient).checkins for patient in normal)
    used = {text for patient in normal for day, text in patient.comments.items()
            if patient.comment_kinds.get(day) == "mention"}

    assert 0.085 <= written / asked <= 0.115
    assert {patient.language for patient in normal} == set(CHATTY_LANGUAGES)
    for language in CHATTY_LANGUAGES:
        assert used & set(MENTIONS[language]), language


def test_the_chatty_clinics_worrying_comments_are_all_flagged_and_its_mentions_are_not():
    measured = burden_measure(clinic="chatty")
    warnings, warnings_flagged = measured.comments_of("warning")
    mentions, mentions_flagged = measured.comments_of("mention")

    assert warnings and warnings_flagged == warnings
    assert mentions_flagged <= 0.05 * mentions

