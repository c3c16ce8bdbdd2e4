"""The escalation rules, tested as pure functions: no database.

The rules return codes and parameters; the English messages staff read are
written from them by ``followups.escalations.messages`` (``written`` below).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followups.assessment import rules
from followups.assessment.rules import (
    Answers,
    Assessment,
    Level,
    Severity,
    Trend,
    allergy_matches,
    assess_answers,
    assess_non_response,
)
from followups.escalations.messages import reason_message, reasons_with_messages

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
ALL_CODES = (
    "FEVER",
    "PUS",
    "SEVERE_PAIN",
    "SEVERE_RASH",
    "SEVERE_SWELLING",
    "COMMENT_CONCERN",
    "RASH_PERSISTS",
    "RASH_WORSENING",
    "RASH_LINGERING",
    "BREAKOUTS_PERSIST",
    "BREAKOUTS_WORSENING",
    "BREAKOUTS_SEVERE",
    "BREAKOUTS_LINGERING",
    "SWELLING",
    "SWELLING_LINGERING",
    "ALLERGY",
    "NO_RESPONSE",
)
URGENT_CODES = ("FEVER", "PUS", "SEVERE_PAIN", "SEVERE_RASH", "SEVERE_SWELLING")
WATCH_CODES = ("RASH_LINGERING", "BREAKOUTS_LINGERING", "SWELLING_LINGERING")

S = Severity
QUIET = Answers(
    rash=S.NONE,
    breakouts=S.NONE,
    itching=S.NONE,
    swelling=S.NONE,
    pain=S.NONE,
    rash_trend=None,
    breakouts_trend=None,
    fever=False,
    pus=False,
    hives=False,
)


def answers(**changes: object) -> Answers:
    return replace(QUIET, **changes)


def written(reason: rules.Reason) -> str:
    """The reason's message as staff read it, written from its stored code and parameters."""
    return reason_message(reason.as_dict())


def assess(
    given_answers: Answers,
    *,
    day: int = 2,
    previous: tuple[Answers, ...] = (),
    known_allergies: tuple[str, ...] = (),
    product_ingredients: tuple[str, ...] = (),
    comment: str = "",
    language: str = "en",
    acne_prone: bool = False,
) -> Assessment:
    return assess_answers(
        answers=given_answers,
        day=day,
        previous=previous,
        known_allergies=known_allergies,
        product_ingredients=product_ingredients,
        comment=comment,
        language=language,
        acne_prone=acne_prone,
    )


def codes(assessment: Assessment) -> list[str]:
    return [reason.code for reason in assessment.reasons]


# --------------------------------------------------------------------------- the catalogue


def test_it_defines_a_rule_for_every_code_of_the_clinical_reference():
    assert tuple(rules.RULES) == ALL_CODES
    for code, rule in rules.RULES.items():
        assert rule.code == code


def test_it_gives_each_rule_the_level_of_the_clinical_reference():
    levels = {code: rule.level for code, rule in rules.RULES.items()}
    assert {code for code, level in levels.items() if level is Level.URGENT} == set(URGENT_CODES)
    assert {code for code, level in levels.items() if level is Level.WATCH} == set(WATCH_CODES)
    assert {code for code, level in levels.items() if level is Level.REVIEW} == (
        set(ALL_CODES) - set(URGENT_CODES) - set(WATCH_CODES)
    )


@pytest.mark.parametrize("code", ALL_CODES)
def test_it_cites_the_document_fact_each_rule_rests_on(code):
    rule = rules.RULES[code]
    assert rule.document in (rules.RASH_DOCUMENT, rules.BREAKOUT_DOCUMENT)
    assert rule.source.startswith(f'{rule.document}: "')
    assert rule.fact in rule.source


@pytest.mark.parametrize("code", ["PUS", "ALLERGY", "COMMENT_CONCERN"])
def test_it_names_both_documents_when_a_rule_rests_on_both(code):
    source = rules.RULES[code].source
    assert rules.RASH_DOCUMENT in source
    assert rules.BREAKOUT_DOCUMENT in source


@pytest.mark.parametrize(
    "code",
    ["FEVER", "SEVERE_SWELLING", "COMMENT_CONCERN", "RASH_PERSISTS", "RASH_LINGERING",
     "BREAKOUTS_PERSIST", "BREAKOUTS_SEVERE", "BREAKOUTS_LINGERING", "SWELLING",
     "SWELLING_LINGERING", "ALLERGY", "NO_RESPONSE"],
)
def test_it_records_the_policy_choice_where_the_documents_are_vague(code):
    assert rules.RULES[code].policy


# --------------------------------------------------------------------------- each rule alone

# (name, answers, day, previous, allergies, ingredients, level, codes)
SINGLE_RULE_CASES = [
    # nothing reported
    ("quiet at day 2", QUIET, 2, (), (), (), Level.NONE, []),
    ("quiet at day 7", QUIET, 7, (), (), (), Level.NONE, []),
    # FEVER, PUS
    ("fever", answers(fever=True), 2, (), (), (), Level.URGENT, ["FEVER"]),
    ("pus", answers(pus=True), 2, (), (), (), Level.URGENT, ["PUS"]),
    # SEVERE_PAIN: just below, at, above the boundary
    ("moderate pain", answers(pain=S.MODERATE), 2, (), (), (), Level.NONE, []),
    ("severe pain", answers(pain=S.SEVERE), 2, (), (), (), Level.URGENT, ["SEVERE_PAIN"]),
    ("very severe pain", answers(pain=S.VERY_SEVERE), 2, (), (), (), Level.URGENT, ["SEVERE_PAIN"]),
    # SEVERE_RASH
    (
        "moderate rash at day 2",
        answers(rash=S.MODERATE, rash_trend=Trend.SAME),
        2,
        (),
        (),
        (),
        Level.NONE,
        [],
    ),
    (
        "severe rash at day 2",
        answers(rash=S.SEVERE, rash_trend=Trend.SAME),
        2,
        (),
        (),
        (),
        Level.URGENT,
        ["SEVERE_RASH"],
    ),
    (
        "very severe rash at day 2",
        answers(rash=S.VERY_SEVERE, rash_trend=Trend.BETTER),
        2,
        (),
        (),
        (),
        Level.URGENT,
        ["SEVERE_RASH"],
    ),
    # RASH_PERSISTS
    (
        "mild rash at day 2",
        answers(rash=S.MILD, rash_trend=Trend.SAME),
        2,
        (),
        (),
        (),
        Level.NONE,
        [],
    ),
    ("no rash at day 7", QUIET, 7, (), (), (), Level.NONE, []),
    # Revised reference: a mild rash at day 7 that is not worse is watched, not flagged.
    (
        "mild rash at day 7, getting better",
        answers(rash=S.MILD, rash_trend=Trend.BETTER),
        7,
        (answers(rash=S.MODERATE, rash_trend=Trend.SAME),),
        (),
        (),
        Level.WATCH,
        ["RASH_LINGERING"],
    ),
    (
        "mild rash at day 7, the same as at day 2",
        answers(rash=S.MILD, rash_trend=Trend.SAME),
        7,
        (answers(rash=S.MILD, rash_trend=Trend.SAME),),
        (),
        (),
        Level.WATCH,
        ["RASH_LINGERING"],
    ),
    (
        "mild rash at day 7, up from none",
        answers(rash=S.MILD, rash_trend=Trend.SAME),
        7,
        (QUIET,),
        (),
        (),
        Level.REVIEW,
        ["RASH_WORSENING"],
    ),
    (
        "moderate rash at day 7, getting better",
        answers(rash=S.MODERATE, rash_trend=Trend.BETTER),
        7,
        (answers(rash=S.SEVERE, rash_trend=Trend.SAME),),
        (),
        (),
        Level.REVIEW,
        ["RASH_PERSISTS"],
    ),
    (
        "mild rash at day 10, getting better",
        answers(rash=S.MILD, rash_trend=Trend.BETTER),
        10,
        (answers(rash=S.MILD, rash_trend=Trend.BETTER),),
        (),
        (),
        Level.REVIEW,
        ["RASH_PERSISTS"],
    ),
    ("no rash at day 10", QUIET, 10, (answers(rash=S.MILD, rash_trend=Trend.BETTER),), (), (),
     Level.NONE, []),
    # RASH_WORSENING
    (
        "rash rated the same as before",
        answers(rash=S.MILD, rash_trend=Trend.SAME),
        2,
        (answers(rash=S.MILD, rash_trend=Trend.SAME),),
        (),
        (),
        Level.NONE,
        [],
    ),
    (
        "rash rated one step higher than before",
        answers(rash=S.MODERATE, rash_trend=Trend.SAME),
        2,
        (answers(rash=S.MILD, rash_trend=Trend.SAME),),
        (),
        (),
        Level.REVIEW,
        ["RASH_WORSENING"],
    ),
    (
        "rash said to be getting worse",
        answers(rash=S.MILD, rash_trend=Trend.WORSE),
        2,
        (),
        (),
        (),
        Level.REVIEW,
        ["RASH_WORSENING"],
    ),
    (
        "rash lower than at the most recent check-in, higher than at the first",
        answers(rash=S.MILD, rash_trend=Trend.BETTER),
        2,
        (answers(), answers(rash=S.MODERATE, rash_trend=Trend.WORSE)),
        (),
        (),
        Level.NONE,
        [],
    ),
    # BREAKOUTS_PERSIST
    (
        "breakouts at day 2",
        answers(breakouts=S.MODERATE, breakouts_trend=Trend.SAME),
        2,
        (),
        (),
        (),
        Level.NONE,
        [],
    ),
    # Revised reference: mild breakouts at day 7 that are not worse are watched.
    (
        "mild breakouts the same at day 7",
        answers(breakouts=S.MILD, breakouts_trend=Trend.SAME),
        7,
        (),
        (),
        (),
        Level.WATCH,
        ["BREAKOUTS_LINGERING"],
    ),
    (
        "mild breakouts at day 7 with no trend given",
        answers(breakouts=S.MILD),
        7,
        (),
        (),
        (),
        Level.WATCH,
        ["BREAKOUTS_LINGERING"],
    ),
    (
        "mild breakouts better at day 7, no earlier check-in",
        answers(breakouts=S.MILD, breakouts_trend=Trend.BETTER),
        7,
        (),
        (),
        (),
        Level.WATCH,
        ["BREAKOUTS_LINGERING"],
    ),
    (
        "mild breakouts better and rated lower at day 7",
        answers(breakouts=S.MILD, breakouts_trend=Trend.BETTER),
        7,
        (answers(breakouts=S.MODERATE, breakouts_trend=Trend.SAME),),
        (),
        (),
        Level.WATCH,
        ["BREAKOUTS_LINGERING"],
    ),
    (
        "mild breakouts up from none at day 7",
        answers(breakouts=S.MILD, breakouts_trend=Trend.SAME),
        7,
        (QUIET,),
        (),
        (),
        Level.REVIEW,
        ["BREAKOUTS_WORSENING"],
    ),
    (
        "moderate breakouts better and rated lower at day 7",
        answers(breakouts=S.MODERATE, breakouts_trend=Trend.BETTER),
        7,
        (answers(breakouts=S.SEVERE, breakouts_trend=Trend.SAME),),
        (),
        (),
        Level.WATCH,
        ["BREAKOUTS_LINGERING"],
    ),
    (
        "moderate breakouts said better but rated unchanged at day 7",
        answers(breakouts=S.MODERATE, breakouts_trend=Trend.BETTER),
        7,
        (answers(breakouts=S.MODERATE, breakouts_trend=Trend.SAME),),
        (),
        (),
        Level.REVIEW,
        ["BREAKOUTS_PERSIST"],
    ),
    (
        "moderate breakouts rated lower but said the same at day 7",
        answers(breakouts=S.MODERATE, breakouts_trend=Trend.SAME),
        7,
        (answers(breakouts=S.SEVERE, breakouts_trend=Trend.SAME),),
        (),
        (),
        Level.REVIEW,
        ["BREAKOUTS_PERSIST"],
    ),
    (
        "mild breakouts better and rated lower at day 10",
        answers(breakouts=S.MILD, breakouts_trend=Trend.BETTER),
        10,
        (answers(breakouts=S.MODERATE, breakouts_trend=Trend.BETTER),),
        (),
        (),
        Level.NONE,
        [],
    ),
    (
        "mild breakouts the same at day 10",
        answers(breakouts=S.MILD, breakouts_trend=Trend.SAME),
        10,
        (answers(breakouts=S.MILD, breakouts_trend=Trend.SAME),),
        (),
        (),
        Level.REVIEW,
        ["BREAKOUTS_PERSIST"],
    ),
    # BREAKOUTS_SEVERE: moderate vs severe, even improving
    (
        "severe breakouts at day 2",
        answers(breakouts=S.SEVERE, breakouts_trend=Trend.SAME),
        2,
        (),
        (),
        (),
        Level.REVIEW,
        ["BREAKOUTS_SEVERE"],
    ),
    (
        "very severe breakouts getting better at day 2",
        answers(breakouts=S.VERY_SEVERE, breakouts_trend=Trend.BETTER),
        2,
        (),
        (),
        (),
        Level.REVIEW,
        ["BREAKOUTS_SEVERE"],
    ),
    # BREAKOUTS_WORSENING
    (
        "breakouts rated the same as before",
        answers(breakouts=S.MODERATE, breakouts_trend=Trend.SAME),
        2,
        (answers(breakouts=S.MODERATE, breakouts_trend=Trend.SAME),),
        (),
        (),
        Level.NONE,
        [],
    ),
    (
        "breakouts rated higher than before, though said better",
        answers(breakouts=S.MODERATE, breakouts_trend=Trend.BETTER),
        2,
        (answers(breakouts=S.MILD, breakouts_trend=Trend.SAME),),
        (),
        (),
        Level.REVIEW,
        ["BREAKOUTS_WORSENING"],
    ),
    (
        "breakouts said to be getting worse",
        answers(breakouts=S.MILD, breakouts_trend=Trend.WORSE),
        2,
        (),
        (),
        (),
        Level.REVIEW,
        ["BREAKOUTS_WORSENING"],
    ),
    # SWELLING
    ("moderate swelling at day 2", answers(swelling=S.MODERATE), 2, (), (), (), Level.NONE, []),
    (
        "severe swelling at day 2",
        answers(swelling=S.SEVERE),
        2,
        (),
        (),
        (),
        Level.REVIEW,
        ["SWELLING"],
    ),
    # Revised reference: very severe swelling is urgent (SEVERE_SWELLING alone).
    (
        "very severe swelling at day 2",
        answers(swelling=S.VERY_SEVERE),
        2,
        (),
        (),
        (),
        Level.URGENT,
        ["SEVERE_SWELLING"],
    ),
    # Revised reference: mild swelling at day 7 is watched.
    ("mild swelling at day 7", answers(swelling=S.MILD), 7, (), (), (), Level.WATCH,
     ["SWELLING_LINGERING"]),
    ("moderate swelling at day 7", answers(swelling=S.MODERATE), 7, (), (), (), Level.REVIEW,
     ["SWELLING"]),
    ("severe swelling at day 7", answers(swelling=S.SEVERE), 7, (), (), (), Level.REVIEW,
     ["SWELLING"]),
    ("mild swelling at day 10", answers(swelling=S.MILD), 10, (), (), (), Level.REVIEW,
     ["SWELLING"]),
    ("very severe swelling at day 10", answers(swelling=S.VERY_SEVERE), 10, (), (), (),
     Level.URGENT, ["SEVERE_SWELLING"]),
    # SEVERE_SWELLING: hives with swelling, mild vs moderate
    ("hives with mild swelling", answers(hives=True, swelling=S.MILD), 2, (), (), (),
     Level.REVIEW, ["ALLERGY"]),
    ("hives with moderate swelling", answers(hives=True, swelling=S.MODERATE), 2, (), (), (),
     Level.URGENT, ["SEVERE_SWELLING", "ALLERGY"]),
    # ALLERGY
    ("hives", answers(hives=True), 2, (), (), (), Level.REVIEW, ["ALLERGY"]),
    (
        "mild rash, product without a known allergen",
        answers(rash=S.MILD, rash_trend=Trend.SAME),
        2,
        (),
        ("lidocaine",),
        ("water", "glycerin"),
        Level.NONE,
        [],
    ),
    (
        "mild rash, product with a known allergen",
        answers(rash=S.MILD, rash_trend=Trend.SAME),
        2,
        (),
        ("lidocaine",),
        ("water", "Lidocaine"),
        Level.REVIEW,
        ["ALLERGY"],
    ),
    (
        "mild itching, product with a known allergen",
        answers(itching=S.MILD),
        2,
        (),
        ("lidocaine",),
        ("lidocaine",),
        Level.REVIEW,
        ["ALLERGY"],
    ),
    # Revised reference: swelling and breakouts count as a reaction to a known allergen.
    (
        "known allergen and mild swelling",
        answers(swelling=S.MILD, pain=S.MILD),
        2,
        (),
        ("lidocaine",),
        ("lidocaine",),
        Level.REVIEW,
        ["ALLERGY"],
    ),
    (
        "known allergen and mild breakouts",
        answers(breakouts=S.MILD, breakouts_trend=Trend.SAME),
        2,
        (),
        ("aloe",),
        ("Aloe Barbadensis Leaf Juice",),
        Level.REVIEW,
        ["ALLERGY"],
    ),
    (
        "known allergen but only pain",
        answers(pain=S.MILD),
        2,
        (),
        ("lidocaine",),
        ("lidocaine",),
        Level.NONE,
        [],
    ),
    (
        "salt of a known allergen, with a rash",
        answers(rash=S.MILD, rash_trend=Trend.SAME),
        2,
        (),
        ("lidocaine",),
        ("Lidocaine Hydrochloride 4%",),
        Level.REVIEW,
        ["ALLERGY"],
    ),
    (
        "synonym of a known allergen, with itching",
        answers(itching=S.MILD),
        2,
        (),
        ("hyaluronic acid",),
        ("Sodium Hyaluronate",),
        Level.REVIEW,
        ["ALLERGY"],
    ),
]


@pytest.mark.parametrize(
    ("given_answers", "day", "previous", "allergies", "ingredients", "level", "expected"),
    [case[1:] for case in SINGLE_RULE_CASES],
    ids=[case[0] for case in SINGLE_RULE_CASES],
)
def test_it_applies_each_rule_on_its_own_at_its_boundary(
    given_answers, day, previous, allergies, ingredients, level, expected
):
    assessment = assess(
        given_answers,
        day=day,
        previous=previous,
        known_allergies=allergies,
        product_ingredients=ingredients,
    )

    assert assessment.level is level
    assert codes(assessment) == expected
    # Watch is no flag: one more check-in, no escalation.
    assert assessment.flagged is (level >= Level.REVIEW)


def test_it_flags_severe_rash_as_urgent():
    assessment = assess(answers(rash=S.SEVERE, rash_trend=Trend.SAME))

    assert assessment.level is Level.URGENT
    assert written(assessment.reasons[0]) == "Rash rated severe at the day-2 check-in"
    assert assessment.reasons[0].params == {"day": 2, "rating": "severe"}
    assert assessment.reasons[0].source == rules.RULES["SEVERE_RASH"].source


def test_it_flags_fever_alone_as_urgent():
    assert assess(answers(fever=True), day=7).level is Level.URGENT


def test_it_names_the_matched_ingredients_in_the_allergy_message():
    assessment = assess(
        answers(rash=S.MILD, rash_trend=Trend.SAME, itching=S.MILD),
        known_allergies=("Lidocaine ", "fragrance"),
        product_ingredients=("water", "lidocaine", "Fragrance"),
    )

    (reason,) = assessment.reasons
    assert reason.code == "ALLERGY"
    assert "Fragrance, lidocaine" in written(reason)
    assert written(reason).startswith("Rash and itching reported at the day-2 check-in")
    assert reason.params["ingredients"] == ["Fragrance", "lidocaine"]


def test_it_says_how_much_the_rash_rose_since_the_previous_check_in():
    assessment = assess(
        answers(rash=S.MODERATE, rash_trend=Trend.WORSE),
        previous=(answers(rash=S.MILD, rash_trend=Trend.SAME),),
    )

    assert written(assessment.reasons[0]) == (
        "Rash rated moderate at the day-2 check-in, up from mild at the previous check-in, "
        "and reported as getting worse"
    )
    assert assessment.reasons[0].params == {"day": 2, "rating": "moderate",
                                             "previous_rating": "mild", "said_worse": True}


def test_it_writes_very_severe_in_words_for_staff():
    assessment = assess(answers(pain=S.VERY_SEVERE))

    assert written(assessment.reasons[0]) == "Pain rated very severe at the day-2 check-in"


# --------------------------------------------------------------------------- combinations

COMBINATION_CASES = [
    (
        "urgent and review together keep urgent and list both",
        answers(fever=True, swelling=S.SEVERE),
        2,
        (),
        Level.URGENT,
        ["FEVER", "SWELLING"],
    ),
    (
        "every urgent rule at once",
        answers(fever=True, pus=True, pain=S.SEVERE, rash=S.SEVERE, rash_trend=Trend.SAME),
        2,
        (),
        Level.URGENT,
        ["FEVER", "PUS", "SEVERE_PAIN", "SEVERE_RASH"],
    ),
    (
        "severe rash still present and worse at day 7",
        answers(rash=S.SEVERE, rash_trend=Trend.WORSE),
        7,
        (answers(rash=S.MILD, rash_trend=Trend.SAME),),
        Level.URGENT,
        ["SEVERE_RASH", "RASH_PERSISTS", "RASH_WORSENING"],
    ),
    (
        "several review rules at day 7, with the watch findings listed after them",
        answers(
            rash=S.MILD,
            rash_trend=Trend.SAME,
            breakouts=S.MODERATE,
            breakouts_trend=Trend.WORSE,
            swelling=S.MILD,
            hives=True,
        ),
        7,
        (
            answers(
                rash=S.MILD, rash_trend=Trend.SAME, breakouts=S.MILD, breakouts_trend=Trend.SAME
            ),
        ),
        Level.REVIEW,
        ["BREAKOUTS_PERSIST", "BREAKOUTS_WORSENING", "ALLERGY", "RASH_LINGERING",
         "SWELLING_LINGERING"],
    ),
    (
        "review rules listed after urgent ones whatever triggered first",
        answers(hives=True, swelling=S.VERY_SEVERE, pus=True),
        2,
        (),
        Level.URGENT,
        ["PUS", "SEVERE_SWELLING", "ALLERGY"],
    ),
    (
        "everything at once at day 7",
        answers(
            rash=S.VERY_SEVERE,
            breakouts=S.VERY_SEVERE,
            itching=S.VERY_SEVERE,
            swelling=S.VERY_SEVERE,
            pain=S.VERY_SEVERE,
            rash_trend=Trend.WORSE,
            breakouts_trend=Trend.WORSE,
            fever=True,
            pus=True,
            hives=True,
        ),
        7,
        (QUIET,),
        Level.URGENT,
        [code for code in ALL_CODES if code not in ("NO_RESPONSE", "COMMENT_CONCERN", "SWELLING",
                                                     *WATCH_CODES)],
    ),
]


@pytest.mark.parametrize(
    ("given_answers", "day", "previous", "level", "expected"),
    [case[1:] for case in COMBINATION_CASES],
    ids=[case[0] for case in COMBINATION_CASES],
)
def test_it_keeps_the_highest_level_and_lists_every_reason(
    given_answers, day, previous, level, expected
):
    assessment = assess(given_answers, day=day, previous=previous)

    assert assessment.level is level
    assert codes(assessment) == expected


def test_it_serialises_an_assessment_for_the_api():
    assessment = assess(answers(fever=True, hives=True))

    stored = assessment.as_dict()
    assert {"level": stored["level"], "reasons": reasons_with_messages(stored["reasons"])} == {
        "level": "urgent",
        "reasons": [
            {
                "code": "FEVER",
                "message": "Fever reported at the day-2 check-in",
                "source": rules.RULES["FEVER"].source,
            },
            {
                "code": "ALLERGY",
                "message": "Hives reported at the day-2 check-in",
                "source": rules.RULES["ALLERGY"].source,
            },
        ],
    }
    assert assessment.reasons[1].level is Level.REVIEW
    assert assessment.reasons[1].as_dict() == {
        "code": "ALLERGY",
        "params": {"day": 2, "symptoms": ["hives"], "ingredients": []},
        "source": rules.RULES["ALLERGY"].source,
    }
    assert written(assessment.reasons[1]) == "Hives reported at the day-2 check-in"


def test_it_stores_codes_and_parameters_never_a_message():
    assessment = assess(answers(fever=True, rash=S.SEVERE, rash_trend=Trend.WORSE),
                        comment="some pus")

    for reason in assessment.as_dict()["reasons"]:
        assert set(reason) == {"code", "params", "source"}
    assert Assessment.from_stored(**assessment.as_dict()) == assessment


def test_it_serialises_a_quiet_check_in_as_level_none():
    assert assess(QUIET).as_dict() == {"level": "none", "reasons": []}


# --------------------------------------------------------------------------- properties

severities = st.sampled_from(list(Severity))
trends = st.sampled_from([None, *Trend])
any_answers = st.builds(
    Answers,
    rash=severities,
    breakouts=severities,
    itching=severities,
    swelling=severities,
    pain=severities,
    rash_trend=trends,
    breakouts_trend=trends,
    fever=st.booleans(),
    pus=st.booleans(),
    hives=st.booleans(),
)
# Answers of a patient healing as expected: most random answers already raise
# some flag, which would hide a rule that lowers the level on its own.
calm_severities = st.sampled_from([S.NONE, S.MILD])
calm_trends = st.sampled_from([None, Trend.BETTER, Trend.SAME])
calm_answers = st.builds(
    Answers,
    rash=calm_severities,
    breakouts=calm_severities,
    itching=calm_severities,
    swelling=calm_severities,
    pain=calm_severities,
    rash_trend=calm_trends,
    breakouts_trend=calm_trends,
    fever=st.just(False),
    pus=st.just(False),
    hives=st.just(False),
)
answer_sets = st.one_of(calm_answers, any_answers)
days = st.sampled_from([2, 7, 10])
histories = st.lists(answer_sets, max_size=2).map(tuple)
allergy_cases = st.sampled_from(
    [
        ((), ()),
        (("lidocaine",), ("water", "glycerin")),
        (("Lidocaine",), (" lidocaine ", "water")),
    ]
)

# Each field's values from milder to worse. A missing trend is read like "same"
# by every rule, so it gets a chain of its own between "better" and "worse".
WORSENING_CHAINS = (
    *((field, tuple(Severity)) for field in ("rash", "breakouts", "itching", "swelling", "pain")),
    *(
        (field, chain)
        for field in ("rash_trend", "breakouts_trend")
        for chain in ((Trend.BETTER, Trend.SAME, Trend.WORSE), (Trend.BETTER, None, Trend.WORSE))
    ),
    *((field, (False, True)) for field in ("fever", "pus", "hives")),
)


def levels_along(given_answers, field, chain, **context):
    return [assess(replace(given_answers, **{field: value}), **context).level for value in chain]


@settings(max_examples=400, deadline=None)
@given(answer_sets, days, histories, allergy_cases)
def test_it_always_decides(given_answers, day, previous, allergy_case):
    allergies, ingredients = allergy_case
    assessment = assess(
        given_answers,
        day=day,
        previous=previous,
        known_allergies=allergies,
        product_ingredients=ingredients,
    )

    assert isinstance(assessment, Assessment)
    assert isinstance(assessment.level, Level)
    # A watch finding alone is no flag (no escalation): only review and urgent are.
    assert assessment.flagged is (assessment.level >= Level.REVIEW)
    assert bool(assessment.reasons) is (assessment.level > Level.NONE)
    assert assessment.level == max((r.level for r in assessment.reasons), default=Level.NONE)
    assert len(set(codes(assessment))) == len(assessment.reasons)
    assert codes(assessment) == sorted(
        codes(assessment), key=lambda code: (-rules.RULES[code].level, ALL_CODES.index(code))
    )
    for reason in assessment.reasons:
        assert reason.level is rules.RULES[reason.code].level
        assert reason.source == rules.RULES[reason.code].source
        assert written(reason)


@settings(max_examples=500, deadline=None)
@given(answer_sets, days, histories, allergy_cases)
def test_it_never_lowers_the_level_when_one_answer_gets_worse(
    given_answers, day, previous, allergy_case
):
    allergies, ingredients = allergy_case
    context = {
        "day": day,
        "previous": previous,
        "known_allergies": allergies,
        "product_ingredients": ingredients,
    }

    for field, chain in WORSENING_CHAINS:
        levels = levels_along(given_answers, field, chain, **context)
        assert levels == sorted(levels), (field, chain, levels)


# Every earlier check-in with all symptoms at one step and one trend, and none.
UNIFORM_HISTORIES = [
    (),
    *(
        (
            answers(
                rash=severity,
                breakouts=severity,
                itching=severity,
                swelling=severity,
                pain=severity,
                rash_trend=trend,
                breakouts_trend=trend,
            ),
        )
        for severity in Severity
        for trend in (None, *Trend)
    ),
]


@pytest.mark.parametrize(("field", "chain"), WORSENING_CHAINS)
def test_it_never_lowers_the_level_of_a_calm_patient_when_one_answer_gets_worse(field, chain):
    # Sweeps every earlier check-in above from a patient with nothing else to
    # report, where a rule that stops flagging as an answer worsens would show.
    for trend in (None, Trend.BETTER, Trend.SAME):
        calm = answers(rash_trend=trend, breakouts_trend=trend)
        for previous in UNIFORM_HISTORIES:
            for day in (2, 7, 10):
                for allergies, ingredients in (((), ()), (("lidocaine",), ("lidocaine",))):
                    levels = levels_along(
                        calm,
                        field,
                        chain,
                        day=day,
                        previous=previous,
                        known_allergies=allergies,
                        product_ingredients=ingredients,
                    )
                    assert levels == sorted(levels), (trend, previous, day, allergies, levels)


@pytest.mark.parametrize(
    "milder_trend",
    [Trend.BETTER, Trend.SAME, None],
)
@pytest.mark.parametrize("previous_breakouts", [S.NONE, S.MILD, S.MODERATE, S.SEVERE])
def test_it_never_lowers_the_level_when_breakouts_rise_at_day_7(milder_trend, previous_breakouts):
    previous = (answers(breakouts=previous_breakouts, breakouts_trend=Trend.SAME),)
    levels = [
        assess(
            answers(breakouts=severity, breakouts_trend=milder_trend), day=7, previous=previous
        ).level
        for severity in Severity
    ]

    assert levels == sorted(levels)


@settings(max_examples=300, deadline=None)
@given(answer_sets, histories)
def test_it_never_lowers_the_level_at_the_later_check_in(given_answers, previous):
    assert assess(given_answers, day=7, previous=previous).level >= (
        assess(given_answers, day=2, previous=previous).level
    )


@settings(max_examples=600, deadline=None)
@given(answer_sets, days, st.lists(answer_sets, min_size=1, max_size=2).map(tuple),
       allergy_cases)
def test_it_decides_alike_without_the_earlier_answers_when_it_does_not_need_them(
    given_answers, day, previous, allergy_case
):
    # previous_needed lets the service skip reading the earlier answers: when it
    # says no, they must change nothing, whatever they were.
    allergies, ingredients = allergy_case
    context = {"day": day, "known_allergies": allergies, "product_ingredients": ingredients}
    if not rules.previous_needed(given_answers):
        assert assess(given_answers, previous=previous, **context).as_dict() == (
            assess(given_answers, previous=(), **context).as_dict())


@pytest.mark.parametrize(("now", "before", "code"), [
    (answers(rash=S.MODERATE, rash_trend=Trend.SAME), answers(rash=S.MILD), "RASH_WORSENING"),
    (answers(breakouts=S.MODERATE, breakouts_trend=Trend.BETTER),
     answers(breakouts=S.MODERATE, breakouts_trend=Trend.SAME), "BREAKOUTS_PERSIST"),
])
def test_it_needs_the_earlier_answers_for_a_rash_or_breakouts(now, before, code):
    assert rules.previous_needed(now)
    assert code in codes(assess(now, day=7, previous=(before,)))
    assert code not in codes(assess(now, day=7))


def test_it_does_not_need_the_earlier_answers_for_healed_skin():
    assert not rules.previous_needed(QUIET)
    assert not rules.previous_needed(answers(itching=S.MODERATE, swelling=S.MILD, pain=S.MILD,
                                             fever=True))
    assert rules.previous_needed(answers(rash=S.MILD))
    assert rules.previous_needed(answers(breakouts=S.MILD))


@settings(max_examples=300, deadline=None)
@given(answer_sets, histories)
def test_it_still_flags_at_day_10_what_day_7_flagged(given_answers, previous):
    # Day 10 may find nothing where day 7 watched (improving breakouts), but
    # never lets a review or urgent finding go.
    if assess(given_answers, day=7, previous=previous).level >= Level.REVIEW:
        assert assess(given_answers, day=10, previous=previous).level >= Level.REVIEW


@settings(max_examples=400, deadline=None)
@given(
    answer_sets,
    days,
    histories,
    allergy_cases,
    st.sampled_from(
        [
            ("FEVER", {"fever": True}),
            ("PUS", {"pus": True}),
            ("SEVERE_PAIN", {"pain": S.SEVERE}),
            ("SEVERE_PAIN", {"pain": S.VERY_SEVERE}),
            ("SEVERE_RASH", {"rash": S.SEVERE}),
            ("SEVERE_RASH", {"rash": S.VERY_SEVERE}),
        ]
    ),
)
def test_it_always_makes_fever_pus_severe_pain_and_severe_rash_urgent(
    given_answers, day, previous, allergy_case, urgent_sign
):
    code, change = urgent_sign
    allergies, ingredients = allergy_case

    assessment = assess(
        replace(given_answers, **change),
        day=day,
        previous=previous,
        known_allergies=allergies,
        product_ingredients=ingredients,
    )

    assert assessment.level is Level.URGENT
    assert code in codes(assessment)


# --------------------------------------------------------------------------- non-response

SENT = datetime(2025, 3, 8, 10, 0, tzinfo=UTC)
REMINDED = SENT + timedelta(hours=24)


def test_it_does_not_flag_a_silent_check_in_one_minute_before_48_hours():
    assessment = assess_non_response(
        day=2, sent_at=SENT, reminder_sent_at=REMINDED, now=SENT + timedelta(hours=47, minutes=59)
    )

    assert assessment.level is Level.NONE
    assert assessment.reasons == ()


def test_it_flags_a_silent_check_in_at_48_hours_after_a_reminder():
    assessment = assess_non_response(
        day=7, sent_at=SENT, reminder_sent_at=REMINDED, now=SENT + timedelta(hours=48)
    )

    assert assessment.level is Level.REVIEW
    (reason,) = assessment.reasons
    assert reason.code == "NO_RESPONSE"
    assert written(reason) == (
        "Day-7 check-in not answered 48 hours after it was sent, despite a reminder"
    )
    assert reason.source == rules.RULES["NO_RESPONSE"].source


def test_it_does_not_flag_a_silent_check_in_without_a_reminder():
    assessment = assess_non_response(
        day=2, sent_at=SENT, reminder_sent_at=None, now=SENT + timedelta(hours=72)
    )

    assert assessment.level is Level.NONE
    assert not assessment.flagged


def test_it_honours_a_different_non_response_window():
    window = timedelta(hours=36)
    kwargs = {"day": 2, "sent_at": SENT, "reminder_sent_at": REMINDED, "window": window}

    assert assess_non_response(now=SENT + window - timedelta(seconds=1), **kwargs).level is (
        Level.NONE
    )
    flagged = assess_non_response(now=SENT + window, **kwargs)
    assert flagged.level is Level.REVIEW
    assert "36 hours" in written(flagged.reasons[0])


# --------------------------------------------------------------------------- allergy matching


@pytest.mark.parametrize(
    ("allergies", "ingredients", "expected"),
    [
        (["lidocaine"], ["Lidocaine"], ["Lidocaine"]),
        (["LIDOCAINE"], ["lidocaine"], ["lidocaine"]),
        (["  lidocaine "], ["\tlidocaine\n"], ["lidocaine"]),
        (["lidocaine"], ["lidocaine hydrochloride"], ["lidocaine hydrochloride"]),
        (["lido"], ["lidocaine"], []),
        (
            ["lidocaine", "fragrance"],
            ["water", "Fragrance", "lidocaine"],
            ["Fragrance", "lidocaine"],
        ),
        (["lidocaine"], ["lidocaine", "Lidocaine ", "LIDOCAINE"], ["LIDOCAINE"]),
        ([], ["lidocaine"], []),
        (["lidocaine"], [], []),
        ([""], ["", "  "], []),
    ],
    ids=[
        "ingredient in another case",
        "allergy in capitals",
        "surrounding whitespace",
        "a salt of the allergen matches (revised reference)",
        "part of a name is not a match",
        "several matches sorted",
        "duplicates once",
        "no known allergies",
        "no ingredients",
        "blank names never match",
    ],
)
def test_it_matches_allergies_by_name_ignoring_case_whitespace_and_salts(
    allergies, ingredients, expected
):
    assert allergy_matches(allergies, ingredients) == expected


def test_it_returns_the_same_matches_whatever_the_order():
    assert allergy_matches(["b", "a"], ["B", "a", "b"]) == allergy_matches(
        ["a", "b"], ["b", "B", "a"]
    )


def test_it_refuses_a_bare_string_instead_of_a_list_of_names():
    with pytest.raises(TypeError):
        allergy_matches("lidocaine", ["lidocaine"])


# --------------------------------------------------------------------------- parsing answers

FORM_ANSWERS = {
    "rash": "moderate",
    "breakouts": "none",
    "itching": "mild",
    "swelling": "very_severe",
    "pain": "severe",
    "rash_trend": "worse",
    "breakouts_trend": "",
    "fever": "no",
    "pus": "yes",
    "hives": "no",
    "comments": "ignored",
}


def test_it_reads_answers_from_the_form_fields():
    parsed = Answers.from_mapping(FORM_ANSWERS)

    assert parsed == Answers(
        rash=S.MODERATE,
        breakouts=S.NONE,
        itching=S.MILD,
        swelling=S.VERY_SEVERE,
        pain=S.SEVERE,
        rash_trend=Trend.WORSE,
        breakouts_trend=None,
        fever=False,
        pus=True,
        hives=False,
    )


def test_it_reads_answers_from_json_values():
    data = {**FORM_ANSWERS, "fever": True, "pus": False, "hives": True, "breakouts_trend": None}

    parsed = Answers.from_mapping(data)

    assert (parsed.fever, parsed.pus, parsed.hives) == (True, False, True)
    assert parsed.breakouts_trend is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rash", "terrible"),
        ("rash", 3),
        ("rash_trend", "sideways"),
        ("fever", "maybe"),
        ("fever", None),
    ],
)
def test_it_refuses_an_unknown_answer_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        Answers.from_mapping({**FORM_ANSWERS, field: value})


@pytest.mark.parametrize("field", ["pain", "hives"])
def test_it_never_reads_a_missing_answer_as_no(field):
    data = {key: value for key, value in FORM_ANSWERS.items() if key != field}

    with pytest.raises(ValueError, match=field):
        Answers.from_mapping(data)


def test_it_refuses_raw_strings_in_answers():
    with pytest.raises(TypeError):
        answers(rash="severe")


@pytest.mark.parametrize("severity", list(Severity))
def test_it_round_trips_each_severity_name(severity):
    assert Severity.from_value(severity.value_name) is severity


def test_it_names_levels_for_the_interface():
    assert [level.label for level in Level] == ["none", "watch", "review", "urgent"]
    assert [level.escalation_rank for level in rules.ESCALATION_LEVELS] == [1, 2]
    assert Severity.VERY_SEVERE.value_name == "very_severe"


# --------------------------------------------------------------------------- acne-prone patients
# clinical-reference.md, "Acne-prone patients": their mild breakouts that are not worse
# are their usual skin at day 7 and day 10: no watch, no flag.

MILD_SAME = answers(breakouts=S.MILD, breakouts_trend=Trend.SAME)


@pytest.mark.parametrize("previous", [(), (MILD_SAME,), (answers(breakouts=S.MODERATE,
                                                                   breakouts_trend=Trend.SAME),)])
@pytest.mark.parametrize("day", [7, 10])
def test_an_acne_prone_patients_usual_mild_breakouts_are_neither_watched_nor_flagged(day,
                                                                                     previous):
    usual = assess(MILD_SAME, day=day, previous=previous, acne_prone=True)
    anyone = assess(MILD_SAME, day=day, previous=previous)

    assert (usual.level, codes(usual)) == (Level.NONE, [])
    assert codes(anyone) == (["BREAKOUTS_LINGERING"] if day == 7 else ["BREAKOUTS_PERSIST"])


@pytest.mark.parametrize(("given_answers", "previous", "day", "expected"), [
    # Reported as getting worse: judged as for anyone.
    (answers(breakouts=S.MILD, breakouts_trend=Trend.WORSE), (MILD_SAME,), 7,
     ["BREAKOUTS_WORSENING"]),
    # Rated higher than before (none at day 7, mild at day 10).
    (MILD_SAME, (answers(),), 10, ["BREAKOUTS_PERSIST", "BREAKOUTS_WORSENING"]),
    # Moderate or worse.
    (answers(breakouts=S.MODERATE, breakouts_trend=Trend.SAME), (MILD_SAME,), 7,
     ["BREAKOUTS_PERSIST", "BREAKOUTS_WORSENING"]),
    (answers(breakouts=S.MODERATE, breakouts_trend=Trend.SAME),
     (answers(breakouts=S.MODERATE, breakouts_trend=Trend.SAME),), 7, ["BREAKOUTS_PERSIST"]),
    (answers(breakouts=S.SEVERE, breakouts_trend=Trend.SAME),
     (answers(breakouts=S.SEVERE, breakouts_trend=Trend.SAME),), 10,
     ["BREAKOUTS_PERSIST", "BREAKOUTS_SEVERE"]),
    # Moderate and improving is watched, as for anyone.
    (answers(breakouts=S.MODERATE, breakouts_trend=Trend.BETTER),
     (answers(breakouts=S.SEVERE, breakouts_trend=Trend.SAME),), 7, ["BREAKOUTS_LINGERING"]),
])
def test_an_acne_prone_patients_breakouts_beyond_their_usual_are_judged_as_for_anyone(
    given_answers, previous, day, expected
):
    assessed = assess(given_answers, day=day, previous=previous, acne_prone=True)

    assert codes(assessed) == expected
    assert codes(assessed) == codes(assess(given_answers, day=day, previous=previous))


def test_acne_prone_changes_nothing_but_mild_breakouts_at_day_2():
    for given_answers in (MILD_SAME, answers(breakouts=S.MODERATE, breakouts_trend=Trend.SAME)):
        assert assess(given_answers, day=2, acne_prone=True) == assess(given_answers, day=2)


@settings(max_examples=600, deadline=None)
@given(answer_sets, days, histories)
def test_acne_prone_only_ever_drops_the_breakout_findings_of_usual_skin(given_answers, day,
                                                                        previous):
    usual = assess(given_answers, day=day, previous=previous, acne_prone=True)
    anyone = assess(given_answers, day=day, previous=previous)

    dropped = set(codes(anyone)) - set(codes(usual))
    assert set(codes(usual)) <= set(codes(anyone))
    assert dropped <= {"BREAKOUTS_LINGERING", "BREAKOUTS_PERSIST"}
    if dropped:
        assert given_answers.breakouts is S.MILD and day >= 7
        assert "BREAKOUTS_WORSENING" not in codes(anyone)


@pytest.mark.parametrize("previous_breakouts", [S.NONE, S.MILD, S.MODERATE, S.SEVERE])
@pytest.mark.parametrize("day", [7, 10])
@pytest.mark.parametrize("trend", [Trend.BETTER, Trend.SAME, Trend.WORSE])
def test_it_never_lowers_an_acne_prone_patients_level_as_breakouts_rise(previous_breakouts,
                                                                        day, trend):
    previous = (answers(breakouts=previous_breakouts,
                        breakouts_trend=Trend.SAME if previous_breakouts else None),)
    levels = [assess(answers(breakouts=severity, breakouts_trend=trend if severity else None),
                     day=day, previous=previous, acne_prone=True).level
              for severity in Severity]

    assert levels == sorted(levels)
