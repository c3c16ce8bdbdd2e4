"""Matching a patient's known allergies against a product's ingredients, as clinicians name them.

Pure: standard library only. The rules (``followups.assessment.rules``: ``ALLERGY``), the
warning on a session before and after it is saved, the API and the admin all
ask ``allergy_matches`` here, so they can never disagree.

Two names match when, after normalising both (case, accents, spacing,
punctuation), they are the same name; or one is contained in the other as
whole words, with salt and form words ignored; or they belong to the same
family of the synonym table below. The tables are data, reviewed like code and
listed for clinicians in ``docs/ingredient-matching.md``.

Source: RASH — "It is essential to inform your practitioner about any known
allergies or sensitivities before the procedure"; BREAKOUT — "allergic
reactions to the products used during or after the procedure, such as numbing
creams or serums". A false match costs a look at the label; a missed one
could cost a reaction, so every doubtful reading here matches.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from types import MappingProxyType

__all__ = ["FORM_WORDS", "SYNONYMS", "allergy_matches", "ingredient_words", "names_match"]

# Words that name the salt or the form a substance comes in, not the substance:
# "Lidocaine Hydrochloride 4% cream" is lidocaine. Ignored when one name is
# looked for inside the other (never when that would leave nothing to compare).
FORM_WORDS = frozenset({
    "hydrochloride", "hcl", "hydrobromide", "sodium", "disodium", "potassium", "acetate",
    "phosphate", "sulfate", "sulphate", "citrate", "salt", "monohydrate", "anhydrous",
    "gel", "cream", "ointment", "lotion", "solution", "topical", "usp", "bp", "ph", "eur",
})

# Families of names for one substance (or, for parabens, one family that
# cross-reacts). Each entry: the family's name -> its names as clinicians and
# labels (INCI) write them. A name matches a family when one of these is
# contained in it as whole words, after normalising and ignoring form words.
SYNONYMS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    # Numbing agents (RASH and BREAKOUT: allergic reactions to numbing creams).
    "lidocaine": ("lidocaine", "lignocaine", "xylocaine"),
    "tetracaine": ("tetracaine", "amethocaine"),
    "prilocaine": ("prilocaine",),
    "benzocaine": ("benzocaine",),
    # Serums and their actives.
    "hyaluronic acid": ("hyaluronic acid", "hyaluronate", "hyaluronan"),
    "fragrance": ("fragrance", "parfum", "perfume"),
    "vitamin c": ("vitamin c", "ascorbic acid", "ascorbyl"),
    "vitamin e": ("vitamin e", "tocopherol", "tocopheryl"),
    "vitamin a": ("vitamin a", "retinol", "retinyl", "retinaldehyde"),
    "niacinamide": ("niacinamide", "nicotinamide", "vitamin b3"),
    # Preservatives. Parabens by family: a patient who reacts to one paraben
    # is warned about every paraben (the safer reading of "parabens").
    "parabens": ("paraben", "parabens", "methylparaben", "ethylparaben", "propylparaben",
                 "butylparaben", "isobutylparaben", "isopropylparaben", "benzylparaben"),
    "phenoxyethanol": ("phenoxyethanol",),
})

_NOT_A_WORD = re.compile(r"[^0-9a-z]+")


def ingredient_words(name: str) -> tuple[str, ...]:
    """A name as whole words: case folded, accents dropped, punctuation as spaces."""
    decomposed = unicodedata.normalize("NFKD", str(name).casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return tuple(word for word in _NOT_A_WORD.split(plain) if word)


def _core(words: tuple[str, ...]) -> tuple[str, ...]:
    """The words that name the substance: form words and bare numbers (4%) left out."""
    kept = tuple(word for word in words if word not in FORM_WORDS and not word.isdigit())
    return kept or words


def _contains(outer: tuple[str, ...], inner: tuple[str, ...]) -> bool:
    if not inner or len(inner) > len(outer):
        return False
    width = len(inner)
    return any(outer[start:start + width] == inner for start in range(len(outer) - width + 1))


_FAMILY_WORDS = {
    family: tuple(_core(ingredient_words(name)) for name in names)
    for family, names in SYNONYMS.items()
}


def _families(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(family for family, names in _FAMILY_WORDS.items()
                     if any(_contains(words, name) for name in names))


@functools.lru_cache(maxsize=4096)
def _parsed(name: str) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
    # The same few hundred names come back for every assessment: read each once.
    words = ingredient_words(name)
    core = _core(words)
    return words, core, _families(core)


@functools.lru_cache(maxsize=16384)
def names_match(allergy: str, ingredient: str) -> bool:
    """Whether an ingredient is one the patient is known to react to (see the module)."""
    allergy_words, allergy_core, allergy_families = _parsed(allergy)
    ingredient_words_, ingredient_core, ingredient_families = _parsed(ingredient)
    if not allergy_words or not ingredient_words_:
        return False
    for outer, inner in ((allergy_words, ingredient_words_), (allergy_core, ingredient_core)):
        if _contains(outer, inner) or _contains(inner, outer):
            return True
    return bool(allergy_families & ingredient_families)


def allergy_matches(known_allergies: Iterable[str], ingredients: Iterable[str]) -> list[str]:
    """Ingredients the patient is known to react to, sorted and without duplicates.

    Each match is returned once, as written in the product (trimmed); blank
    names never match.
    """
    if isinstance(known_allergies, str) or isinstance(ingredients, str):
        # A bare string would be matched letter by letter.
        raise TypeError("known_allergies and ingredients must be collections of names")
    allergies = [name for name in known_allergies if name and name.strip()]
    if not allergies:
        return []
    matched: dict[str, str] = {}
    for name in ingredients:
        written = " ".join(str(name).split())
        if not written:
            continue
        key = written.casefold()
        if key in matched:
            # Keep one spelling per ingredient, independent of the order given.
            matched[key] = min(matched[key], written)
            continue
        if any(names_match(allergy, written) for allergy in allergies):
            matched[key] = written
    return [matched[key] for key in sorted(matched)]
