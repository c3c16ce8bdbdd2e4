"""The warning-sign lists a patient's comment is read against: pure, no database."""

from __future__ import annotations

from pathlib import Path

import pytest

from followups.assessment.comments import (
    EMERGENCY_WORDS,
    LANGUAGES,
    WARNING_WORDS,
    comment_warnings,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "escalation-rules.md"

REFERENCE_MINIMUM = (
    "fever", "temperature", "chills", "hot to the touch", "pus", "discharge", "oozing",
    "weeping", "crust", "smell", "smelly", "severe pain", "intense pain", "unbearable pain",
    "spreading", "streaks", "blister", "blisters", "swollen", "swelling", "hives", "welts",
    "dizzy", "faint", "fainted",
)
REFERENCE_EMERGENCY = ("breathing", "breathe", "wheezing", "swallowing", "swallow", "throat",
                       "tongue")


def test_it_keeps_a_list_for_every_language_of_the_patient_pages():
    assert set(WARNING_WORDS) == set(EMERGENCY_WORDS) == set(LANGUAGES) == {"en", "fr", "es"}


def test_it_lists_at_least_the_reference_words_in_english():
    assert set(REFERENCE_MINIMUM) <= set(WARNING_WORDS["en"])
    assert set(REFERENCE_EMERGENCY) <= set(EMERGENCY_WORDS["en"])


@pytest.mark.parametrize(
    ("comment", "language", "expected"),
    [
        ("my face is swollen shut", "en", ("swollen",)),
        ("I have a fever of 39", "en", ("fever",)),
        ("yellow smelly pus from the spots", "en", ("pus", "smelly")),
        ("It is HOT TO THE TOUCH", "en", ("hot to the touch",)),
        ("j'ai de la fièvre depuis hier", "fr", ("fièvre",)),
        ("j'ai de la fievre", "fr", ("fièvre",)),
        ("tengo fiebre y escalofríos", "es", ("fiebre", "escalofríos")),
        ("I have a fever", "fr", ("fever",)),
    ],
    ids=["swollen", "fever", "pus and smell", "a phrase in capitals", "French",
         "French without accents", "Spanish", "English on a French page"],
)
def test_it_finds_warning_words_in_each_language(comment, language, expected):
    assert comment_warnings(comment, language=language).warning == expected


@pytest.mark.parametrize(
    ("comment", "language"),
    [("no fever at all", "en"), ("pas de fièvre", "fr"), ("no tengo fiebre", "es"),
     ("I don't have any pus", "en")],
)
def test_it_still_matches_a_negated_warning_word(comment, language):
    assert comment_warnings(comment, language=language)


@pytest.mark.parametrize(
    ("comment", "language", "expected"),
    [
        ("my throat feels tight", "en", ("throat",)),
        ("hard to breathe", "en", ("breathe",)),
        ("j'ai du mal à avaler", "fr", ("avaler",)),
        ("me cuesta respirar", "es", ("respirar",)),
    ],
)
def test_it_finds_the_emergency_words(comment, language, expected):
    assert comment_warnings(comment, language=language).emergency == expected


@pytest.mark.parametrize(
    "comment",
    ["", "   ", "All good, thank you!", "a pustule or two", "feverfew tea", "my fave cream",
     "the swell of the sea"],
    ids=["empty", "spaces", "nothing", "not pus", "not fever", "nothing either", "not swollen"],
)
def test_it_matches_only_whole_words(comment):
    assert not comment_warnings(comment, language="en")


def test_it_prints_every_entry_on_the_clinicians_page():
    text = DOC.read_text(encoding="utf-8").split("## Comments: warning signs", 1)[1]
    text = text.split("\n## ", 1)[0]
    flat = " ".join(text.split())
    for lists in (WARNING_WORDS, EMERGENCY_WORDS):
        for language, entries in lists.items():
            for entry in entries:
                assert entry in flat, (language, entry)
