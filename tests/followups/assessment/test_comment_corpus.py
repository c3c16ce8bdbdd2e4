"""The labelled comment corpus through the real rules: each comment's outcome, and the figures.

Each comment is assessed as ``response_record`` assesses it (calm answers, day
2, the patient's language) and its outcome is what the patient's answers come
to: a ``COMMENT_CONCERN`` flag at its level, a comment to read (no flag, a
person reads it: ``comment_waiting``), or nothing for an empty comment.
"""

from __future__ import annotations

import pytest

from followups.assessment.rules import Answers, assess_answers
from followups.assessment.symptoms import calm_answers
from tests.followups.assessment.comment_corpus import CORPUS, Case

CALM = Answers.from_mapping(calm_answers())
FLAGS = ("urgent", "review")


def outcome(case: Case) -> str:
    assessment = assess_answers(answers=CALM, day=2, previous=(), known_allergies=(),
                                product_ingredients=(), comment=case.text,
                                language=case.language)
    concern = [reason for reason in assessment.reasons if reason.code == "COMMENT_CONCERN"]
    if concern:
        return concern[0].level.label
    # As response_record marks it: a non-empty comment without a flag waits for a person.
    return "read" if case.text.strip() else "nothing"


def _param(case: Case):
    marks = [pytest.mark.xfail(reason=case.known, strict=True)] if case.known else []
    return pytest.param(case, id=f"{case.language}-{case.kind}-{case.text[:40]}", marks=marks)


def test_the_corpus_is_large_enough_and_covers_every_language_and_kind():
    written = [case for case in CORPUS if case.kind != "empty"]
    assert len(written) >= 400
    for language in ("en", "fr", "es"):
        kinds = {case.kind for case in written if case.language == language}
        assert kinds >= {"warning", "emergency", "denied", "harmless", "mixed", "misspelt",
                         "number", "emoji"}, language
    assert len({case.text for case in CORPUS}) == len(CORPUS), "a comment is listed twice"


@pytest.mark.parametrize("case", [_param(case) for case in CORPUS])
def test_each_comment_has_its_expected_outcome(case):
    assert outcome(case) == case.expected


def corpus_figures() -> dict[str, float]:
    """Recall on the comments naming a sign; the share of calm comments flagged."""
    signs = [case for case in CORPUS if case.expected in FLAGS]
    calm = [case for case in CORPUS if case.expected == "read"]
    caught = [case for case in signs if outcome(case) == case.expected]
    flagged = [case for case in calm if outcome(case) in FLAGS]
    return {"signs": len(signs), "recall": len(caught) / len(signs),
            "calm": len(calm), "false_flags": len(flagged) / len(calm)}


def test_it_catches_every_warning_and_emergency_and_flags_few_calm_comments():
    figures = corpus_figures()

    assert figures["recall"] == 1.0
    assert figures["false_flags"] <= 0.05
