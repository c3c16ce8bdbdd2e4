"""Matching a patient's known allergies against a product's ingredients, as clinicians name them.

Pure: standard library only. The rules (``followups.assessment.rules``: ``ALLERGY``), the
warning on a session before and after it is saved, the API and the admin all
ask here, so they can never disagree; the API and the admin also refuse here
an allergy that names no substance (``allergy_refusal``).

Two names match when, after reading both (case, accents, spacing,
punctuation, plural or singular), they are the same name; or one is contained
in the other as whole words, with salt, form and generic words ignored; or
they name the same substance of the synonym table below, in English, French
or Spanish; or one is a product brand (or a class: numbing agents) whose
active ingredients the other names. Words that name no substance ("cream",
"acid", "water"...) never make a match by themselves. The tables are data,
reviewed like code and listed for clinicians in ``docs/ingredient-matching.md``.

Source: RASH — "It is essential to inform your practitioner about any known
allergies or sensitivities before the procedure"; BREAKOUT — "allergic
reactions to the products used during or after the procedure, such as numbing
creams or serums". Revised clinical reference, "Allergies and ingredients".
A false match costs a look at the label; a missed one could cost a reaction,
so every doubtful reading of a substance's name matches.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "BRANDS", "CLASSES", "FORM_WORDS", "GENERIC_WORDS", "NOT_ALONE_WORDS", "SYNONYMS",
    "WORD_ENDINGS", "IngredientMatch", "allergy_matches", "allergy_pairs", "allergy_refusal",
    "ingredient_words", "names_a_substance", "names_match",
]

# Words that name the salt or the form a substance comes in, not the substance:
# "Lidocaine Hydrochloride 4% cream" is lidocaine, and so is "chlorhydrate de
# lidocaïne" and "clorhidrato de lidocaína". Ignored when one name is looked
# for inside the other.
FORM_WORDS = frozenset({
    "hydrochloride", "hcl", "hydrobromide", "sodium", "disodium", "potassium", "acetate",
    "phosphate", "sulfate", "sulphate", "citrate", "salt", "monohydrate", "anhydrous",
    "gel", "cream", "ointment", "lotion", "solution", "topical", "usp", "bp", "ph", "eur",
    # French and Spanish
    "chlorhydrate", "clorhidrato", "sodique", "sodio", "sodico", "potasio", "acetato",
    "fosfato", "sulfato", "citrato", "sel", "sal", "creme", "crema", "pommade", "pomada",
    "unguento", "locion", "solucion", "topique", "topico",
})

# Words that name no substance on their own (revised reference: "cream",
# "gel", "serum", "acid", "oil", "water", "aqua"), and the little words of a
# name ("acide de ...", "allergic to ..."): ignored like the form words, and
# never a match by themselves.
GENERIC_WORDS = frozenset({
    "serum", "acid", "oil", "water", "aqua",
    "acide", "acido", "huile", "aceite", "eau", "agua",
    "de", "del", "des", "du", "d", "l", "la", "le", "el", "of", "the", "y", "et", "and",
    "a", "al", "au", "to", "with", "avec", "con",
    "allergy", "allergic", "allergie", "allergique", "alergia", "alergico", "alergica",
    "sensitivity", "sensitive", "sensibilite", "sensibilidad", "intolerance", "intolerancia",
})

# Words kept when one name is looked for inside the other ("chamomile
# extract"), but that name no substance on their own either: an allergy
# written only with these (and the words above) is refused.
NOT_ALONE_WORDS = frozenset({
    "vitamin", "vitamine", "vitamina", "vit", "extract", "extrait", "extracto", "leaf",
    "juice", "seed", "flower", "root", "powder", "poudre", "polvo", "mask", "masque",
    "mascarilla", "balm", "baume", "balsamo", "product", "produit", "producto",
    "ingredient", "ingrediente", "preservative", "conservateur", "conservante",
    "moisturiser", "moisturizer", "hidratante", "cleanser", "nettoyant", "limpiador",
})

# Substances and their names as clinicians, patients and labels (INCI) write
# them, in English, French and Spanish. Each entry: the substance -> its
# names. A name is the substance when one of these is contained in it as
# whole words (salt, form and generic words left out).
SYNONYMS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    # Numbing agents (RASH and BREAKOUT: allergic reactions to numbing creams).
    "lidocaine": ("lidocaine", "lignocaine", "xylocaine", "lidocaïne", "lignocaïne",
                  "xylocaïne", "lidocaína", "lignocaína", "xilocaína"),
    "tetracaine": ("tetracaine", "amethocaine", "tétracaïne", "améthocaïne", "tetracaína",
                   "ametocaína"),
    "prilocaine": ("prilocaine", "prilocaïne", "prilocaína"),
    "benzocaine": ("benzocaine", "benzocaïne", "benzocaína"),
    # Serums and their actives.
    "hyaluronic acid": ("hyaluronic acid", "hyaluronate", "hyaluronan", "acide hyaluronique",
                        "hyaluronane", "ácido hialurónico", "hialuronato", "hialuronano"),
    "fragrance": ("fragrance", "parfum", "perfume", "fragancia"),
    "vitamin c": ("vitamin C", "ascorbic acid", "ascorbyl", "ascorbate", "vitamine C",
                  "acide ascorbique", "vitamina C", "ácido ascórbico", "ascorbilo", "ascorbato"),
    "vitamin e": ("vitamin E", "tocopherol", "tocopheryl", "vitamine E", "tocophérol",
                  "tocophéryl", "vitamina E", "tocoferol", "tocoferilo"),
    "vitamin a": ("vitamin A", "retinol", "retinyl", "retinal", "retinaldehyde", "vitamine A",
                  "rétinol", "rétinyl", "rétinaldéhyde", "vitamina A", "retinilo",
                  "retinaldehído"),
    "niacinamide": ("niacinamide", "nicotinamide", "vitamin B3", "vitamine B3", "niacinamida",
                    "nicotinamida", "vitamina B3"),
    # Preservatives. Parabens by family: a patient who reacts to one paraben
    # is warned about every paraben (the safer reading of "parabens"); every
    # word ending in one of these names is a paraben (WORD_ENDINGS).
    "parabens": ("parabens", "parabène", "parabeno"),
    "phenoxyethanol": ("phenoxyethanol", "phénoxyéthanol", "fenoxietanol"),
    # Plant extracts: "aloe vera" is aloe (aloe barbadensis).
    "aloe": ("aloe", "aloe vera", "aloe barbadensis", "aloès", "sábila"),
})

# Substances whose every member is one word with a common ending:
# "methylparaben", "propylparabène", "butilparabeno".
WORD_ENDINGS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "parabens": SYNONYMS["parabens"],
})

# Product brands whose active ingredients are known: the brand -> its
# substances (keys of SYNONYMS). "LMX" covers "LMX 4" and "LMX 5" (a bare
# number is no word of a name).
BRANDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "EMLA": ("lidocaine", "prilocaine"),
    "LMX": ("lidocaine",),
    "LMX4": ("lidocaine",),
    "LMX5": ("lidocaine",),
    "Pliaglis": ("lidocaine", "tetracaine"),
    "Ametop": ("tetracaine",),
    "BLT": ("benzocaine", "lidocaine", "tetracaine"),
    "Xylocaine": ("lidocaine",),
    "Zensa": ("lidocaine",),
    "Topicaine": ("lidocaine",),
    "Synera": ("lidocaine", "tetracaine"),
    "Rapydan": ("lidocaine", "tetracaine"),
})

# Classes a patient names instead of a substance (*policy*, the safer
# reading): "allergic to numbing cream" is read as every numbing agent of the
# table. The class -> (its names, its substances).
NUMBING_AGENTS = ("lidocaine", "tetracaine", "prilocaine", "benzocaine")
CLASSES: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType({
    "numbing agents": (
        ("numbing", "anaesthetic", "anesthetic", "anaesthesia", "anesthesia", "anesthésique",
         "anesthésiant", "anesthésiante", "anesthésie", "anestésico", "anestésica",
         "anestesia"),
        NUMBING_AGENTS,
    ),
})

_NOT_A_WORD = re.compile(r"[^0-9a-z]+")
# "vitamin C", "vitamine C", "vitamina C", "vit. C" are one word here, so that
# "C" never stands alone and "vitamin C" is never "vitamin E".
_VITAMIN_WORDS = frozenset({"vitamin", "vitamine", "vitamina", "vit"})
_VITAMIN_LETTER = re.compile(r"[a-z][0-9]{0,2}")


def ingredient_words(name: str) -> tuple[str, ...]:
    """A name as whole words: case folded, accents dropped, punctuation as spaces."""
    decomposed = unicodedata.normalize("NFKD", str(name).casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return tuple(word for word in _NOT_A_WORD.split(plain) if word)


def _singular(word: str) -> str:
    """Plural or singular alike: "parabens", "parabènes", "parabenos", "aloès".

    Latin and chemical words ending in -us, -is or -ss keep their s
    ("barbadensis", "citrus"); both names are read the same way, so this
    can only make two spellings of one word meet.
    """
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _reading(name: str) -> tuple[str, ...]:
    words = [_singular(word) for word in ingredient_words(name)]
    read: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else ""
        if word in _VITAMIN_WORDS and _VITAMIN_LETTER.fullmatch(following):
            read.append(f"vitamin:{following}")
            index += 2
            continue
        read.append(word)
        index += 1
    return tuple(read)


_IGNORED = frozenset(_singular(word) for word in FORM_WORDS | GENERIC_WORDS)
_NOT_ALONE = frozenset(_singular(word) for word in NOT_ALONE_WORDS) | _IGNORED


def _core(words: tuple[str, ...]) -> tuple[str, ...]:
    """The words that name the substance: form and generic words, bare numbers (4%) left out."""
    return tuple(word for word in words if word not in _IGNORED and not word.isdigit())


def _contains(outer: tuple[str, ...], inner: tuple[str, ...]) -> bool:
    if not inner or len(inner) > len(outer):
        return False
    width = len(inner)
    return any(outer[start:start + width] == inner for start in range(len(outer) - width + 1))


def _table(entries: Mapping[str, Iterable[str]]) -> dict[str, tuple[tuple[str, ...], ...]]:
    return {key: tuple(_core(_reading(name)) for name in names)
            for key, names in entries.items()}


_SYNONYM_WORDS = _table(SYNONYMS)
_ENDINGS = {family: tuple(_singular(ingredient_words(name)[0]) for name in names)
            for family, names in WORD_ENDINGS.items()}
_BRAND_WORDS = _table({brand: (brand,) for brand in BRANDS})
_CLASS_WORDS = _table({name: names for name, (names, _families) in CLASSES.items()})
_PRODUCT_FAMILIES: dict[str, tuple[str, ...]] = {
    **BRANDS, **{name: families for name, (_names, families) in CLASSES.items()}}


@dataclass(frozen=True)
class _Reading:
    core: tuple[str, ...]
    # Substances named directly (synonyms), and those named through a brand
    # or a class: substance -> the brand or class it was read through.
    substances: frozenset[str]
    through: Mapping[str, str]

    @property
    def families(self) -> frozenset[str]:
        return self.substances | frozenset(self.through)

    @property
    def names_a_substance(self) -> bool:
        return bool(self.families) or any(
            word not in _NOT_ALONE and len(word) > 1 for word in self.core)


# Every name of the tables by its first word: a name is read in one pass over its words.
_BY_FIRST_WORD: dict[str, list[tuple[tuple[str, ...], str, bool]]] = {}
for _key, _names in _SYNONYM_WORDS.items():
    for _words in _names:
        _BY_FIRST_WORD.setdefault(_words[0], []).append((_words, _key, False))
for _product_table in (_BRAND_WORDS, _CLASS_WORDS):
    for _key, _names in _product_table.items():
        for _words in _names:
            _BY_FIRST_WORD.setdefault(_words[0], []).append((_words, _key, True))
_ALL_ENDINGS = tuple((ending, family) for family, endings in _ENDINGS.items()
                     for ending in endings)
_PRODUCT_ORDER = {product: index for index, product in enumerate(_PRODUCT_FAMILIES)}


@functools.lru_cache(maxsize=4096)
def _parsed(name: str) -> _Reading:
    # The same few hundred names come back for every assessment: read each once.
    core = _core(_reading(name))
    substances: set[str] = set()
    products: set[str] = set()
    for start, word in enumerate(core):
        for words, key, is_product in _BY_FIRST_WORD.get(word, ()):
            if core[start:start + len(words)] == words:
                (products if is_product else substances).add(key)
        for ending, family in _ALL_ENDINGS:
            if word.endswith(ending):
                substances.add(family)
    through: dict[str, str] = {}
    for product in sorted(products, key=_PRODUCT_ORDER.__getitem__):
        for family in _PRODUCT_FAMILIES[product]:
            if family not in substances:
                through.setdefault(family, product)
    return _Reading(core=core, substances=frozenset(substances),
                    through=MappingProxyType(through))


def names_a_substance(name: str) -> bool:
    """Whether a name can be matched: not only words like "cream", "acid", "vitamin"."""
    return _parsed(name).names_a_substance


@dataclass(frozen=True)
class IngredientMatch:
    """One allergy of the patient's matched by one ingredient of a product.

    ``allergy`` and ``ingredient`` as written (trimmed). ``substances``: the
    substances of the tables both name, when that is how they match (empty
    when one name contains the other); ``through``: the brand or class of the
    allergy read as its active ingredients ("EMLA"), if any.
    """

    allergy: str
    ingredient: str
    substances: tuple[str, ...] = ()
    through: str | None = None


def _match(allergy: str, ingredient: str) -> tuple[tuple[str, ...], str | None] | None:
    first, second = _parsed(allergy), _parsed(ingredient)
    if not (first.names_a_substance and second.names_a_substance):
        return None  # "cream" or "water" alone never matches (revised reference)
    if _contains(first.core, second.core) or _contains(second.core, first.core):
        return (), None
    shared = first.families & second.families
    if not shared:
        return None
    # Read through the allergy's brand or class only when it names none of them itself.
    through = sorted({first.through[family] for family in shared if family in first.through})
    return tuple(sorted(shared)), (through[0] if through else None)


@functools.lru_cache(maxsize=16384)
def names_match(allergy: str, ingredient: str) -> bool:
    """Whether an ingredient is one the patient is known to react to (see the module)."""
    return _match(allergy, ingredient) is not None


def _trimmed(names: Iterable[str], what: str) -> list[str]:
    if isinstance(names, str):
        # A bare string would be matched letter by letter.
        raise TypeError(f"{what} must be a collection of names")
    return [written for written in (" ".join(str(name).split()) for name in names) if written]


def allergy_pairs(known_allergies: Iterable[str],
                  ingredients: Iterable[str]) -> list[IngredientMatch]:
    """Every (allergy, ingredient) pair that matches: by ingredient, then by allergy, as given.

    Each ingredient is taken once (its first spelling); blank names never match.
    """
    allergies = _trimmed(known_allergies, "known_allergies")
    products = _trimmed(ingredients, "ingredients")
    if not allergies:
        return []
    pairs: list[IngredientMatch] = []
    seen: set[str] = set()
    for ingredient in products:
        key = ingredient.casefold()
        if key in seen:
            continue
        seen.add(key)
        for allergy in dict.fromkeys(allergies):
            found = _match(allergy, ingredient)
            if found is not None:
                substances, through = found
                pairs.append(IngredientMatch(allergy=allergy, ingredient=ingredient,
                                             substances=substances, through=through))
    return pairs


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


def allergy_refusal(known_allergies: Iterable[str]) -> str | None:
    """Why these allergies cannot be recorded, or None: each must name a substance.

    An allergy written only with words like "cream", "gel", "serum", "acid",
    "oil", "water" could never be matched (and must never match every
    product containing the word): the clinician is asked for the
    ingredient's name (revised reference, "Allergies and ingredients").
    """
    vague = [name for name in _trimmed(known_allergies, "known_allergies")
             if not names_a_substance(name)]
    if not vague:
        return None
    if len(vague) == 1:
        said = (f"'{vague[0]}' names no substance on its own, so no product can be checked "
                "against it")
    else:
        quoted = ", ".join(f"'{name}'" for name in vague[:-1]) + f" and '{vague[-1]}'"
        said = (f"{quoted} name no substance on their own, so no product can be checked "
                "against them")
    return (f"{said}: write the ingredient's name (e.g. lidocaine, fragrance, parabens) "
            "or the product's brand (e.g. EMLA).")
