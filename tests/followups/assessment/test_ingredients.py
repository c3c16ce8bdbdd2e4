"""Allergies matched against ingredients as clinicians name them: pure, no database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from followups.assessment.ingredients import (
    BRANDS,
    CLASSES,
    FORM_WORDS,
    GENERIC_WORDS,
    NOT_ALONE_WORDS,
    SYNONYMS,
    IngredientMatch,
    allergy_matches,
    allergy_pairs,
    allergy_refusal,
    names_a_substance,
    names_match,
)

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


# Each substance of the synonym table: a pair of its names, written as labels write them.
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
    ("aloe", "aloe vera", "Aloe Barbadensis Leaf Juice"),
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


# The probes: (the allergy as the patient or the clinician wrote it, an ingredient as the
# label writes it, whether they match). Every example of issue 21 and of the clinical
# reference's "Allergies and ingredients", and the near misses that must stay apart.
PROBES = [
    # The reference's own examples.
    ("lidocaine", "Lidocaine Hydrochloride 4%", True),
    ("aloe", "Aloe Barbadensis Leaf Juice", True),
    ("lignocaine", "Lidocaine HCl", True),
    ("xylocaine", "Lidocaine", True),
    ("tetracaine", "Amethocaine", True),
    ("prilocaine", "Prilocaine 2.5%", True),
    ("benzocaine", "Benzocaine 20%", True),
    ("hyaluronic acid", "Sodium Hyaluronate", True),
    ("hyaluronic acid", "Hyaluronan", True),
    ("fragrance", "Parfum", True),
    ("vitamin C", "Ascorbic Acid", True),
    ("vitamin E", "Tocopherol", True),
    ("vitamin A", "Retinol", True),
    ("niacinamide", "Nicotinamide", True),
    ("parabens", "Methylparaben", True),
    ("methylparaben", "Butylparaben", True),
    ("phenoxyethanol", "Phenoxyethanol", True),
    # Issue 21's 20 misses: the patient's own language, against the English label.
    ("Lidocaína", "Lidocaine Hydrochloride", True),
    ("xilocaína", "Lidocaine Hydrochloride 4%", True),
    ("tetracaína", "Tetracaine HCl", True),
    ("prilocaína", "Prilocaine 2.5%", True),
    ("benzocaína", "Benzocaine 20% cream", True),
    ("ácido hialurónico", "Sodium Hyaluronate", True),
    ("acide hyaluronique", "Hyaluronic Acid", True),
    ("vitamina C", "Ascorbic Acid", True),
    ("vitamine C", "Sodium Ascorbyl Phosphate", True),
    ("tocoferol", "Tocopheryl Acetate", True),
    ("parabenos", "Methylparaben", True),
    ("parabènes", "Propylparaben", True),
    ("fenoxietanol", "Phenoxyethanol", True),
    ("niacinamida", "Niacinamide", True),
    ("EMLA", "Lidocaine 2.5%", True),
    ("EMLA", "Prilocaine 2.5%", True),
    ("LMX4", "Lidocaine 4%", True),
    ("Pliaglis", "Tetracaine 7%", True),
    ("Pliaglis", "Lidocaine 7%", True),
    ("Ametop", "Tetracaine 4%", True),
    ("aloe vera", "Aloe Barbadensis Leaf Juice", True),
    # The reference's other French and Spanish names, and brands.
    ("lidocaïne", "Lidocaine HCl", True),
    ("tétracaïne", "Amethocaine", True),
    ("phénoxyéthanol", "2-Phenoxyethanol", True),
    ("tocophérol", "Tocopherol", True),
    ("vitamina E", "Tocopheryl Acetate", True),
    ("vitamine A", "Retinyl Palmitate", True),
    ("nicotinamida", "Niacinamide", True),
    ("parfum", "Fragrance", True),
    ("fragancia", "Parfum", True),
    ("LMX 4", "Lidocaine", True),
    ("LMX5", "Lidocaine 5%", True),
    ("BLT cream", "Benzocaine 20%", True),
    ("BLT", "Lidocaine 6%", True),
    ("BLT", "Tetracaine 4%", True),
    ("Xylocaine", "Lidocaine Hydrochloride", True),
    ("Zensa", "Lidocaine 5%", True),
    ("Topicaine", "Lidocaine 4%", True),
    ("sábila", "Aloe Barbadensis Leaf Juice", True),
    # Plural or singular, accents and case, salts and forms in French and Spanish.
    ("Parabens", "Ethylparaben", True),
    ("parabeno", "metilparabeno", True),
    ("paraben", "Methylparabens", True),
    ("LIDOCAINA", "clorhidrato de lidocaína", True),
    ("lidocaine", "chlorhydrate de lidocaïne", True),
    ("aloès", "Aloe Vera", True),
    ("acides hyaluroniques", "Hydrolyzed Hyaluronic Acid", True),
    ("vitamines C", "Ascorbic Acid", True),
    ("vit. C", "Ascorbyl Glucoside", True),
    # A class named instead of a substance (policy: the safer reading).
    ("numbing cream", "Lidocaine HCl", True),
    ("crema anestésica", "Benzocaine", True),
    # Apart: other substances, other vitamins, other numbing agents of a brand.
    ("vitamin C", "Vitamin E", False),
    ("vitamin C", "Tocopheryl Acetate", False),
    ("vitamina A", "Ascorbic Acid", False),
    ("vitamine E", "Vitamin C", False),
    ("lidocaine", "Prilocaine", False),
    ("lidocaína", "Benzocaine", False),
    ("EMLA", "Benzocaine", False),
    ("EMLA", "Tetracaine", False),
    ("Ametop", "Lidocaine", False),
    ("LMX4", "Prilocaine", False),
    ("Pliaglis", "Prilocaine", False),
    ("BLT", "Prilocaine", False),
    ("aloe vera", "Glycerin", False),
    ("parabens", "Phenoxyethanol", False),
    ("hyaluronic acid", "Salicylic Acid", False),
    ("ácido hialurónico", "Citric Acid", False),
    ("benzocaine", "Benzoic Acid", False),
    ("retinol", "Retinoic Acid", False),
    ("fragrance", "Perfluorodecalin", False),
    ("lido", "Lidocaine", False),
    ("tea tree oil", "Jojoba Oil", False),
    # Words that name no substance never make a match by themselves, either way round.
    ("acid", "Hyaluronic Acid", False),
    ("acid", "Ascorbic Acid", False),
    ("cream", "Lidocaine cream", False),
    ("cream", "Cream", False),
    ("gel", "Aloe Vera Gel", False),
    ("serum", "Vitamin C Serum", False),
    ("oil", "Jojoba Oil", False),
    ("water", "Rose Water", False),
    ("aqua", "Aqua", False),
    ("crème", "Crème de lidocaïne", False),
    ("ácido", "Ácido hialurónico", False),
    ("vitamin", "Vitamin E", False),
    ("vitamins", "Vitamin C", False),
    ("C", "Vitamin C", False),
    ("tea tree oil", "Oil", False),
    ("rose water", "Water", False),
    ("aloe vera gel", "Gel", False),
    ("sodium lauryl sulfate", "Sodium", False),
]


@pytest.mark.parametrize(("allergy", "ingredient", "expected"), PROBES,
                         ids=[f"{a} ~ {i}" for a, i, _ in PROBES])
def test_it_reads_each_probe_as_the_reference_says(allergy, ingredient, expected):
    assert names_match(allergy, ingredient) is expected
    # One answer whichever side a name is written on, and through every door.
    assert names_match(ingredient, allergy) is expected
    assert allergy_matches([allergy], ["Glycerin", ingredient]) == (
        [ingredient] if expected else [])


def test_it_probes_every_name_of_the_reference():
    """The reference's French and Spanish names and its brands, each tried above."""
    reference = {"lidocaína", "lidocaïne", "xilocaína", "tétracaïne", "prilocaína",
                 "benzocaína", "ácido hialurónico", "acide hyaluronique", "vitamina c",
                 "vitamine c", "tocoferol", "parabenos", "parabènes", "fenoxietanol",
                 "phénoxyéthanol", "niacinamida", "emla", "lmx4", "lmx5", "pliaglis",
                 "ametop", "blt", "xylocaine", "zensa", "topicaine", "aloe vera"}
    tried = {allergy.casefold() for allergy, _ingredient, expected in PROBES if expected}
    assert reference <= tried


VAGUE = ["cream", "Gel", "acid", "serum", "oil", "water", "aqua", "crème", "crema", "sérum",
         "ácido", "acide", "huile", "aceite", "eau", "agua", "acids", "creams", "cream gel",
         "vitamin", "vitamins", "vitamina", "C", "serum oil", "allergic to cream", "leaf juice",
         "4%", "sodium"]


@pytest.mark.parametrize("name", VAGUE)
def test_it_refuses_an_allergy_that_names_no_substance(name):
    assert not names_a_substance(name)
    refusal = allergy_refusal(["lidocaine", name])
    assert refusal is not None
    assert f"'{name}'" in refusal and "'lidocaine'" not in refusal
    assert "ingredient's name" in refusal
    # Stored before the refusal: it never matches, however many products say the word.
    labels = ["Lidocaine cream", "Aloe Vera Gel", "Hyaluronic Acid", "Vitamin C Serum",
              "Jojoba Oil", "Aqua", "Water", "Vitamin E", "C12-15 Alkyl Benzoate",
              "Lidocaine Hydrochloride 4%", "Crème", "Ácido hialurónico", "Eau"]
    assert allergy_matches([name], labels) == []


@pytest.mark.parametrize("name", ["lidocaine", "hyaluronic acid", "vitamin C", "vitamine C",
                                  "latex", "EMLA", "LMX 4", "numbing cream", "aloe vera gel",
                                  "tea tree oil", "penicillin", "parabènes", "fragrance"])
def test_it_accepts_an_allergy_that_names_a_substance(name):
    assert names_a_substance(name)
    assert allergy_refusal([name]) is None


def test_it_names_every_vague_allergy_in_one_message():
    refusal = allergy_refusal(["cream", "lidocaine", "acid"])

    assert refusal is not None
    assert refusal.startswith("'cream' and 'acid' name no substance on their own")


def test_it_refuses_a_single_string_rather_than_read_it_letter_by_letter():
    with pytest.raises(TypeError):
        allergy_refusal("cream")
    with pytest.raises(TypeError):
        allergy_pairs("lidocaine", ["Lidocaine"])


def test_it_says_which_allergy_matched_which_ingredient():
    pairs = allergy_pairs(["lidocaína", "EMLA", "cream", "latex"],
                          ["Water", "Lidocaine 2.5%", "Prilocaine 2.5%", "lidocaine 2.5%"])

    assert pairs == [
        IngredientMatch(allergy="lidocaína", ingredient="Lidocaine 2.5%",
                        substances=("lidocaine",)),
        IngredientMatch(allergy="EMLA", ingredient="Lidocaine 2.5%",
                        substances=("lidocaine",), through="EMLA"),
        IngredientMatch(allergy="EMLA", ingredient="Prilocaine 2.5%",
                        substances=("prilocaine",), through="EMLA"),
    ]


def test_it_says_a_contained_name_is_no_synonym():
    [pair] = allergy_pairs(["Lidocaine"], ["Lidocaine Hydrochloride 4%"])

    assert pair.substances == () and pair.through is None


def test_it_reads_a_numbing_class_as_every_numbing_agent_of_the_table():
    names, substances = CLASSES["numbing agents"]
    assert set(substances) == {"lidocaine", "tetracaine", "prilocaine", "benzocaine"}
    for substance in substances:
        [pair] = allergy_pairs(["numbing cream"], [SYNONYMS[substance][0]])
        assert pair.through == "numbing agents"
    assert allergy_pairs(["anesthésique"], ["Hyaluronic Acid"]) == []


def test_it_knows_each_brands_ingredients_as_substances_of_the_table():
    for brand, substances in BRANDS.items():
        assert substances and set(substances) <= set(SYNONYMS), brand
        for substance in SYNONYMS:
            label = f"{SYNONYMS[substance][0]} 5%"
            assert names_match(brand, label) is (substance in substances), (brand, substance)


# The documentation is the table clinicians read: it must say what the code does.


def _section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}\n")
    end = text.find("\n#", start + 1)
    return text[start:end if end != -1 else len(text)]


def _rows(section: str) -> dict[str, str]:
    rows = re.findall(r"^\| ([^|]+) \| ([^|]+) \|$", section, flags=re.MULTILINE)
    return {first.strip(): second for first, second in rows}


def test_it_documents_every_name_of_the_synonym_table():
    text = DOC.read_text(encoding="utf-8").casefold()
    rows = _rows(_section(text, "synonym table"))
    rows.pop("substance")
    assert set(rows) == set(SYNONYMS)
    for family, names in SYNONYMS.items():
        for name in names:
            assert re.search(rf"(?<!\w){re.escape(name.casefold())}(?!\w)", rows[family]), name


def test_it_documents_every_brand_and_its_ingredients():
    text = DOC.read_text(encoding="utf-8")
    rows = _rows(_section(text, "Brands and classes"))
    rows.pop("brand or class")
    assert set(rows) == set(BRANDS) | set(CLASSES)
    for brand, substances in BRANDS.items():
        assert sorted(name.strip() for name in rows[brand].split(",")) == sorted(substances)
    for name, (words, substances) in CLASSES.items():
        for word in (*words, *substances):
            assert word in rows[name], word


def test_it_documents_every_word_that_names_no_substance():
    section = _section(DOC.read_text(encoding="utf-8"), "Words that name no substance")
    tables = {"FORM_WORDS": FORM_WORDS, "GENERIC_WORDS": GENERIC_WORDS,
              "NOT_ALONE_WORDS": NOT_ALONE_WORDS}
    documented = {}
    for bullet in section.split("\n- ")[1:]:
        quoted = re.findall(r"`([^`]+)`", bullet)
        [table] = [name for name in quoted if name in tables]
        documented[table] = {word for word in quoted if word != table}
    assert documented == tables
