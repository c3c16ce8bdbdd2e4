"""Allergies matched against ingredients as clinicians name them: pure, no database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from followups.assessment.ingredients import SYNONYMS, allergy_matches, names_match

DOC = Path(__file__).resolve().parents[3] / "docs" / "ingredient-matching.md"


@pytest.mark.parametrize(
    ("allergy", "ingredient"),
    [
        ("lidocaine", "Lidocaine Hydrochloride 4%"),
        ("Lidocaine HCl", "Lidocaine"),
        ("lidocaine", "Lidocaine-HCl"),
        ("aloe", "Aloe Barbadensis Leaf Juice"),
        ("hyaluronic acid", "sodium hyaluronate"),
        ("Hyaluronic Acid", "Hyaluronan"),
        ("Lidocaïne", "lidocaine"),
        ("  lidocaine  ", "LIDOCAINE"),
    ],
    ids=["salt and strength", "salt on the allergy", "punctuation", "whole-word containment",
         "synonym with a salt", "synonym", "accents", "case and spaces"],
)
def test_it_matches_names_as_clinicians_write_them(allergy, ingredient):
    assert names_match(allergy, ingredient)
    assert names_match(ingredient, allergy)


# Each synonym family: a pair of its names, written as labels write them.
FAMILY_PAIRS = [
    ("lidocaine", "lignocaine", "Xylocaine 2% gel"),
    ("tetracaine", "amethocaine", "Tetracaine HCl"),
    ("prilocaine", "prilocaine", "Prilocaine 2.5%"),
    ("benzocaine", "benzocaine", "Benzocaine 20% cream"),
    ("hyaluronic acid", "hyaluronic acid", "Sodium Hyaluronate"),
    ("fragrance", "fragrance", "Parfum"),
    ("vitamin c", "vitamin C", "L-Ascorbic Acid"),
    ("vitamin e", "vitamin E", "Tocopheryl Acetate"),
    ("vitamin a", "vitamin A", "Retinol"),
    ("niacinamide", "niacinamide", "Nicotinamide"),
    ("parabens", "parabens", "Methylparaben"),
    ("phenoxyethanol", "phenoxyethanol", "2-Phenoxyethanol"),
]


def test_it_tests_every_family_of_the_synonym_table():
    assert {family for family, _allergy, _ingredient in FAMILY_PAIRS} == set(SYNONYMS)


@pytest.mark.parametrize(("family", "allergy", "ingredient"), FAMILY_PAIRS,
                         ids=[pair[0] for pair in FAMILY_PAIRS])
def test_it_matches_each_synonym_family(family, allergy, ingredient):
    assert allergy_matches([allergy], ["Water", ingredient]) == [ingredient]


def test_it_warns_about_every_paraben_for_one_paraben():
    assert names_match("methylparaben", "Propylparaben")


@pytest.mark.parametrize(
    ("allergy", "ingredient"),
    [
        ("lido", "lidocaine"),
        ("lidocaine", "prilocaine"),
        ("tetracaine", "benzocaine"),
        ("aloe", "glycerin"),
        ("vitamin c", "vitamin e"),
        ("sodium hyaluronate", "sodium chloride"),
        ("", "lidocaine"),
    ],
    ids=["part of a word", "another numbing agent", "another numbing agent too",
         "another ingredient", "another vitamin", "only the salt in common", "blank"],
)
def test_it_does_not_match_different_substances(allergy, ingredient):
    assert not names_match(allergy, ingredient)


def test_it_documents_every_family_of_the_synonym_table():
    text = DOC.read_text(encoding="utf-8").casefold()
    rows = re.findall(r"^\| ([^|]+) \| ([^|]+) \|$", text, flags=re.MULTILINE)
    documented = {family.strip() for family, _names in rows} - {"family", "---"}
    assert documented == set(SYNONYMS)
    names_column = " ".join(names for _family, names in rows)
    for names in SYNONYMS.values():
        for name in names:
            assert name.rstrip("s") in names_column, name
