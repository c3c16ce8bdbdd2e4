"""Warning signs in a patient's own words: the lists a comment is read against.

Pure: standard library only. ``followups.assessment.rules`` (``COMMENT_CONCERN``) reads
every comment with ``comment_warnings``; the lists are data, reviewed like
code and printed for clinicians in ``docs/escalation-rules.md``.

*Policy* (``clinical-reference.md``, "Comments: warning signs"): one list for
each language the patient pages are offered in, each entry a word or a phrase
matched case-insensitively on whole words (a phrase: its words in that
order), accents ignored so that "fievre" is read as "fièvre". Negations are
not read: "no fever" still matches, because a false match costs a call and a
missed one could cost far more. English is always read as well as the
patient's own language: a patient may write in English on a page in French.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["EMERGENCY_WORDS", "LANGUAGES", "WARNING_WORDS", "CommentWarnings",
           "comment_warnings"]

LANGUAGES = ("en", "fr", "es")

# Signs the documents name (fever, pus, intense pain, swelling, spreading
# infection, an allergic reaction) and signs of feeling unwell: review.
WARNING_WORDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "en": (
        "fever", "feverish", "temperature", "chills", "hot to the touch",
        "pus", "discharge", "oozing", "weeping", "crust", "crusting", "smell", "smelly",
        "severe pain", "intense pain", "unbearable pain",
        "spreading", "streaks", "blister", "blisters",
        "swollen", "swelling", "hives", "welts",
        "dizzy", "faint", "fainted", "infection", "infected", "allergic reaction",
    ),
    "fr": (
        "fièvre", "température", "frissons", "chaud au toucher",
        "pus", "écoulement", "suintement", "suinte", "croûte", "croûtes", "odeur",
        "douleur intense", "douleur sévère", "douleur insupportable",
        "s'étend", "se propage", "traînées", "ampoule", "ampoules", "cloque", "cloques",
        "gonflé", "gonflée", "gonflement", "enflé", "enflée", "enflure",
        "urticaire", "vertige", "vertiges", "étourdi", "étourdie", "évanoui", "évanouie",
        "infection", "infecté", "infectée", "réaction allergique",
    ),
    "es": (
        "fiebre", "temperatura", "escalofríos", "caliente al tacto",
        "pus", "secreción", "supuración", "supura", "costra", "costras", "olor", "mal olor",
        "dolor intenso", "dolor fuerte", "dolor insoportable",
        "se extiende", "se está extendiendo", "líneas rojas", "vetas", "ampolla", "ampollas",
        "hinchado", "hinchada", "hinchazón", "inflamado", "inflamada",
        "urticaria", "ronchas", "mareo", "mareado", "mareada", "desmayo", "desmayé",
        "desmayado", "desmayada", "infección", "infectado", "infectada", "reacción alérgica",
    ),
})

# Signs of swelling of the airway in a severe allergic reaction: urgent.
EMERGENCY_WORDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "en": ("breathing", "breathe", "breath", "wheezing", "wheeze", "swallowing", "swallow",
           "throat", "tongue"),
    "fr": ("respirer", "respiration", "respire", "souffle", "sifflement", "avaler",
           "déglutir", "déglutition", "gorge", "langue"),
    "es": ("respirar", "respiración", "respiro", "sibilancias", "silbido", "tragar",
           "deglutir", "garganta", "lengua"),
})

_NOT_A_WORD = re.compile(r"[^0-9a-z]+")


def _words(text: str) -> tuple[str, ...]:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return tuple(word for word in _NOT_A_WORD.split(plain) if word)


def _compiled(lists: Mapping[str, tuple[str, ...]]) -> dict[str, tuple]:
    return {language: tuple((entry, _words(entry)) for entry in entries)
            for language, entries in lists.items()}


_WARNING = _compiled(WARNING_WORDS)
_EMERGENCY = _compiled(EMERGENCY_WORDS)


@dataclass(frozen=True, slots=True)
class CommentWarnings:
    """The entries a comment matched, as the lists write them, in list order."""

    warning: tuple[str, ...] = ()
    emergency: tuple[str, ...] = ()

    @property
    def matched(self) -> tuple[str, ...]:
        return (*self.emergency, *self.warning)

    def __bool__(self) -> bool:
        return bool(self.warning or self.emergency)


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    width = len(phrase)
    return any(words[start:start + width] == phrase for start in range(len(words) - width + 1))


def _found(words, lists, languages) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for language in languages:
        for entry, phrase in lists[language]:
            if phrase and _contains(words, phrase):
                found.setdefault(entry)
    return tuple(found)


def comment_warnings(text: str | None, *, language: str = "en") -> CommentWarnings:
    """The warning and emergency entries found in a comment (nothing for an empty one)."""
    words = _words(text or "")
    if not words:
        return CommentWarnings()
    languages = [language] if language in _WARNING else []
    if "en" not in languages:
        languages.append("en")
    return CommentWarnings(warning=_found(words, _WARNING, languages),
                           emergency=_found(words, _EMERGENCY, languages))
