"""The alert-burden benchmark: its populations through the real rules, without a database."""

from __future__ import annotations

from bench.burden import (
    NORMAL_TARGET,
    WORRYING_KINDS,
    burden_bench,
    burden_measure,
    course_assess,
    population,
)


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


def test_it_reports_two_targets_and_the_share_watched():
    rows = burden_bench()

    assert [row.verdict for row in rows] == ["pass", "pass", "info"]
    assert "watched" in rows[2].operation
