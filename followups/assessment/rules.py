"""Escalation rules for the day-2, day-7 and watch (day-10) check-ins after microneedling.

Pure domain code: no Django, no I/O, the clock passed in (the comment reader,
``followups.assessment.comments``, adds two pure libraries).
The rules return codes and parameters, never sentences: a reason's message is
written where it is read (``followups.escalations.messages``), and what the
patient reads is chosen as codes by ``followups.assessment.guidance``.
Every rule cites the fact of the source documents it rests on (see
``docs/escalation-rules.md``); where the documents are vague the safer reading
is taken and written down in ``Rule.policy``, so it can be changed in one place.

Source documents (kept by the clinical team):

- ``000_eb7b0212037e7f6e.txt`` -- rash after microneedling (RASH)
- ``004_c61f5d8783ebbe28.txt`` -- breakouts after microneedling (BREAKOUT)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypedDict

from followups.assessment.comments import comment_warnings
from followups.assessment.ingredients import allergy_matches
from followups.assessment.symptoms import (
    Severity,
    Trend,
    reaction_names,
    severity_names,
    trend_names,
    yes_no_names,
)

__all__ = [
    "Answers",
    "Assessment",
    "CLUSTER_CODES",
    "ESCALATION_LEVELS",
    "LOT_CLUSTER_CODES",
    "PRACTITIONER_CLUSTER_CODES",
    "Level",
    "RASH_DOCUMENT",
    "BREAKOUT_DOCUMENT",
    "RULES",
    "WATCH_CODES",
    "Reason",
    "Rule",
    "Severity",
    "Trend",
    "allergy_matches",
    "assess_answers",
    "assess_non_response",
    "assess_not_sent",
    "assess_undelivered",
    "previous_needed",
]

RASH_DOCUMENT = "000_eb7b0212037e7f6e.txt"
BREAKOUT_DOCUMENT = "004_c61f5d8783ebbe28.txt"


# --------------------------------------------------------------------------- scales

# The answer scales (Severity, Trend) live with the symptoms they rate, in
# followups.assessment.symptoms; the rules read them from there.


class Level(IntEnum):
    """How soon the clinic must act. Ordered so that ``max()`` keeps the highest.

    ``WATCH`` (*policy*) is no call: the finding may still be normal healing,
    so one extra check-in follows (day 10). Only review and urgent are
    escalations; ``escalation_rank`` is what an escalation stores to sort by.
    """

    NONE = 0
    WATCH = 1
    REVIEW = 2
    URGENT = 3

    @property
    def label(self) -> str:
        """The stored and interface value, e.g. ``"urgent"``."""
        return self.name.lower()

    @property
    def escalation_rank(self) -> int:
        """The stored rank of an escalation at this level (review 1, urgent 2); 0 otherwise."""
        return max(0, int(self) - int(Level.WATCH))

    @classmethod
    def from_label(cls, label: str) -> Level:
        """``"none"``, ``"watch"``, ``"review"`` or ``"urgent"`` to its Level, or raise."""
        try:
            return cls[label.upper()]
        except KeyError:
            raise ValueError(f"unknown level {label!r}; expected one of "
                             f"{[level.label for level in cls]}") from None

    @classmethod
    def choices(cls, *, escalating_only: bool = False) -> list[tuple[str, str]]:
        """(stored value, label) pairs, lowest first; ``escalating_only``: review and urgent."""
        return [(level.label, level.label.capitalize()) for level in cls
                if level in ESCALATION_LEVELS or not escalating_only]


# The levels an escalation can have: a patient flagged for a clinician.
ESCALATION_LEVELS = (Level.REVIEW, Level.URGENT)


# --------------------------------------------------------------------------- answers


_TRUE_WORDS = frozenset({"yes", "true", "1", "on"})
_FALSE_WORDS = frozenset({"no", "false", "0", "off"})
_NO_VALUES: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True, init=False, repr=False)
class Answers:
    """One check-in's answers, whichever channel they came by (link or phone).

    One value for every answer field of the symptom catalogue
    (``followups.assessment.symptoms``), made with keywords and read by name:
    ``answers.rash`` is a Severity, ``answers.rash_trend`` a Trend or None,
    ``answers.fever`` a bool. ``values`` holds them all, by field name.
    """

    values: Mapping[str, Severity | Trend | bool | None]

    def __init__(self, values: Mapping[str, object] = _NO_VALUES, **answers: object) -> None:
        # ``values`` first, then the keywords: dataclasses.replace(answers, rash=…) works.
        given = {**values, **answers}
        checked: dict[str, Severity | Trend | bool | None] = {}
        # Refuse raw strings here: comparing "severe" with Severity.SEVERE would
        # raise deep inside a rule instead of at the boundary where it is fixable.
        for name in severity_names():
            value = _given(given, name)
            if not isinstance(value, Severity):
                raise TypeError(f"{name} must be a Severity, got {value!r}")
            checked[name] = value
        for name in trend_names():
            value = _given(given, name)
            if value is not None and not isinstance(value, Trend):
                raise TypeError(f"{name} must be a Trend or None, got {value!r}")
            checked[name] = value
        for name in yes_no_names():
            value = _given(given, name)
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool, got {value!r}")
            checked[name] = value
        if given:
            raise TypeError(f"not answer fields: {', '.join(sorted(given))}")
        object.__setattr__(self, "values", MappingProxyType(checked))
        # Each answer an attribute of its own too: the rules read them by name, often.
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    if TYPE_CHECKING:
        def __getattr__(self, name: str) -> Any: ...

    def __hash__(self) -> int:
        return hash(tuple(self.values.items()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.values.items())
        return f"{type(self).__name__}({shown})"

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Answers:
        """Build from the interface's answer fields; unknown keys (photo, comments) are ignored.

        Severities are ``"none"`` … ``"very_severe"``; trends ``"better"``/``"same"``/
        ``"worse"``, or ``None``/``""`` when not asked; yes/no answers (fever,
        pus, hives) are bools or ``"yes"``/``"no"`` (also ``"true"``/``"false"``).
        A missing or unknown value raises ``ValueError`` naming the field: a
        missing answer is never read as "no".
        """
        values: dict[str, object] = {}
        for name in severity_names():
            if name not in data:
                raise ValueError(f"{name}: missing")
            try:
                values[name] = Severity.from_value(data[name])
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        for name in trend_names():
            values[name] = _trend_from_value(name, data.get(name))
        for name in yes_no_names():
            if name not in data:
                raise ValueError(f"{name}: missing")
            values[name] = _bool_from_value(name, data[name])
        return cls(values)


def _given(given: dict[str, object], name: str) -> object:
    try:
        return given.pop(name)
    except KeyError:
        raise TypeError(f"Answers needs {name}") from None


def _trend_from_value(name: str, value: object) -> Trend | None:
    if value is None or isinstance(value, Trend):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None
        try:
            return Trend(text)
        except ValueError:
            pass
    raise ValueError(f"{name}: unknown trend {value!r}; expected better, same, worse or empty")


def _bool_from_value(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE_WORDS:
            return True
        if text in _FALSE_WORDS:
            return False
    raise ValueError(f"{name}: expected yes/no or true/false, got {value!r}")


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class Rule:
    """One escalation rule and the document fact it rests on."""

    code: str
    level: Level
    document: str
    fact: str
    policy: str | None = None
    # (document, fact) pairs for rules that also rest on the other document.
    also_cites: tuple[tuple[str, str], ...] = ()

    @property
    def source(self) -> str:
        """The citation shown to clinicians, naming every document the rule rests on."""
        citations = ((self.document, self.fact), *self.also_cites)
        return "; ".join(f"{document}: {fact}" for document, fact in citations)


# clinical-reference.md, "Acne-prone patients" (revised, *policy*), resting on
# BREAKOUT: the purge brings "existing acne" to the surface; a patient whose skin
# usually has some breakouts keeps having them, the procedure aside.
_ACNE_PRONE_POLICY = (
    "Not for an acne-prone patient (Patient.acne_prone, on file before the session) whose "
    "breakouts are mild, not rated higher than at the previous answer and not reported as "
    "getting worse, at day 7 or day 10: that is their usual skin, neither watched nor "
    'flagged (clinical-reference.md, "Acne-prone patients"; BREAKOUT: the purge brings '
    '"existing acne" to the surface). Moderate or worse, or getting worse, is judged as for '
    "anyone."
)

_RULE_LIST = (
    Rule(
        code="FEVER",
        level=Level.URGENT,
        document=RASH_DOCUMENT,
        fact='"accompanied by other symptoms such as fever, intense pain, or pus formation, '
        'it is crucial to seek medical help immediately"',
        policy=(
            "Fever reported at any check-in is urgent, with or without a rash or breakouts: "
            "the documents speak of a rash accompanied by fever, but fever after a skin "
            "procedure can be an infection either way."
        ),
    ),
    Rule(
        code="PUS",
        level=Level.URGENT,
        document=RASH_DOCUMENT,
        fact='"accompanied by … pus formation, it is crucial to seek medical help immediately"',
        also_cites=(
            (
                BREAKOUT_DOCUMENT,
                '"If you suspect an infection, consult your dermatologist immediately"',
            ),
        ),
        policy="Pus or discharge anywhere on the treated skin or at a breakout, at any check-in.",
    ),
    Rule(
        code="SEVERE_PAIN",
        level=Level.URGENT,
        document=RASH_DOCUMENT,
        fact='"accompanied by … intense pain … it is crucial to seek medical help immediately"',
        policy='"Intense pain" is read as pain rated severe or very severe.',
    ),
    Rule(
        code="SEVERE_RASH",
        level=Level.URGENT,
        document=RASH_DOCUMENT,
        fact='"If the rash is severe … it is crucial to seek medical help immediately"',
        policy='"Severe" is read as rash rated severe or very severe, at any check-in.',
    ),
    Rule(
        code="SEVERE_SWELLING",
        level=Level.URGENT,
        document=RASH_DOCUMENT,
        fact='"accompanied by other symptoms such as fever or swelling … These could be signs '
        'of an infection or an allergic reaction, both of which require prompt medical '
        'attention"',
        policy=(
            "Swelling rated very severe at any check-in; or hives together with swelling "
            "rated moderate or worse, since swelling of the face with hives can be the start "
            "of a severe allergic reaction."
        ),
    ),
    Rule(
        code="COMMENT_CONCERN",
        level=Level.REVIEW,
        document=RASH_DOCUMENT,
        fact='"If the rash persists for an unusually long time, becomes increasingly severe, or '
        'is accompanied by other symptoms such as fever or pus, it is advisable to consult a '
        'healthcare professional immediately"',
        also_cites=(
            (
                BREAKOUT_DOCUMENT,
                '"If you suspect an infection, consult your dermatologist immediately"',
            ),
        ),
        policy=(
            "The patient's comment names a warning sign of the documented lists, whatever the "
            "ratings say: every comment is read in English, French and Spanish, by word form "
            "(plurals, gender, verb forms), case and accents ignored, with common misspellings, "
            "temperatures of 38 °C / 100.4 °F or more written as numbers, and the 🤒 emoji. A "
            "warning sign the patient denies (\"no fever\", \"pas de pus\") raises nothing: "
            "the comment is read by a person instead. Urgent when it names an emergency sign "
            "(breathing, swallowing, the throat, tongue or lips swelling, a tight chest, "
            "anaphylaxis), which no negation discounts. A comment raises only this code."
        ),
    ),
    Rule(
        code="RASH_PERSISTS",
        level=Level.REVIEW,
        document=RASH_DOCUMENT,
        fact='"If the rash persists beyond a week … it is crucial to consult a healthcare '
        'professional"; "consult your dermatologist if it does not resolve within a few days"',
        policy=(
            "At day 7 a rash rated moderate or worse; at the day-10 check-in any rash. A mild "
            "rash at day 7 that is not getting worse may still be normal healing "
            "(RASH_LINGERING, watch)."
        ),
    ),
    Rule(
        code="RASH_WORSENING",
        level=Level.REVIEW,
        document=RASH_DOCUMENT,
        fact='"If the rash persists beyond a week, becomes increasingly severe … it is crucial '
        'to consult a healthcare professional"; "If the rash persists or worsens"',
        policy=(
            "Either signal is enough: a rating higher than at the most recent earlier check-in "
            "of the same session (whichever channel it came by), or the patient saying it is "
            "getting worse, even if the rating did not change."
        ),
    ),
    Rule(
        code="RASH_LINGERING",
        level=Level.WATCH,
        document=RASH_DOCUMENT,
        fact='"This reaction is temporary and usually subsides within a few days to a week"; '
        'flagged if it "persists beyond a week"',
        policy=(
            "At day 7 a mild rash that is not rated higher than at the previous answer and not "
            "reported as getting worse: no call, one more check-in on day 10."
        ),
    ),
    Rule(
        code="BREAKOUTS_PERSIST",
        level=Level.REVIEW,
        document=BREAKOUT_DOCUMENT,
        fact='"If breakouts persist or worsen, it\'s advisable to consult your dermatologist"',
        policy=(
            "At day 7 breakouts rated moderate or worse and not improving; at the day-10 "
            'check-in breakouts present and not improving. Improving needs every signal to '
            'agree: the patient says "better" AND, if there is a previous answer, the rating '
            "is lower than there. Each part only flags more as an answer gets worse. "
            + _ACNE_PRONE_POLICY
        ),
    ),
    Rule(
        code="BREAKOUTS_WORSENING",
        level=Level.REVIEW,
        document=BREAKOUT_DOCUMENT,
        fact='"If breakouts persist or worsen, it\'s advisable to consult your dermatologist"',
        policy=(
            "Either signal is enough: a rating higher than at the most recent earlier check-in "
            "of the same session, or the patient saying they are getting worse."
        ),
    ),
    Rule(
        code="BREAKOUTS_SEVERE",
        level=Level.REVIEW,
        document=BREAKOUT_DOCUMENT,
        fact='"If you suspect an infection, consult your dermatologist immediately"; "allergic '
        'reactions … which can cause skin irritation and breakouts"',
        policy=(
            "Breakouts rated severe or very severe at any check-in: severe breakouts can come "
            "from an infection or an allergic reaction, not only from the purge."
        ),
    ),
    Rule(
        code="BREAKOUTS_LINGERING",
        level=Level.WATCH,
        document=BREAKOUT_DOCUMENT,
        fact='"This is a temporary phase where existing acne is brought to the surface before '
        'it heals"; flagged if breakouts "persist or worsen"',
        policy=(
            "At day 7 breakouts rated mild, not rated higher than before and not reported as "
            "getting worse; or rated moderate and improving: no call, one more check-in on "
            "day 10. " + _ACNE_PRONE_POLICY
        ),
    ),
    Rule(
        code="SWELLING",
        level=Level.REVIEW,
        document=RASH_DOCUMENT,
        fact='"accompanied by other symptoms such as fever or swelling, it is crucial to '
        'consult a healthcare professional"',
        policy=(
            "Swelling rated (exactly) severe at any check-in; at day 7 swelling rated moderate "
            "or severe; at the day-10 check-in any swelling below very severe. Mild swelling "
            "in the first days is normal healing; very severe is SEVERE_SWELLING alone."
        ),
    ),
    Rule(
        code="SWELLING_LINGERING",
        level=Level.WATCH,
        document=RASH_DOCUMENT,
        fact='"The rash may manifest as redness, swelling, or small bumps on the skin. This '
        'reaction is temporary and usually subsides within a few days to a week"',
        policy="At day 7 mild swelling: no call, one more check-in on day 10.",
    ),
    Rule(
        code="ALLERGY",
        level=Level.REVIEW,
        document=RASH_DOCUMENT,
        fact='"It is essential to inform your practitioner about any known allergies or '
        'sensitivities before the procedure"',
        also_cites=(
            (
                BREAKOUT_DOCUMENT,
                '"allergic reactions to the products used during or after the '
                'procedure, such as numbing creams or serums, which can cause skin irritation '
                'and breakouts"',
            ),
        ),
        policy=(
            "Hives alone flag, as a sign of an allergic reaction. A rash, itching, swelling or "
            "breakouts (mild or worse) flag when a product used in the session, as recorded "
            "when the session was saved, contains an ingredient the patient is known to react "
            "to, matched as clinicians name things (followups.assessment.ingredients: "
            "normalised names, whole-word containment ignoring salt and form words, a synonym "
            "table)."
        ),
    ),
    Rule(
        code="NO_RESPONSE",
        level=Level.REVIEW,
        document=RASH_DOCUMENT,
        fact='"it is essential to monitor the rash and seek professional advice if it does '
        'not resolve"',
        policy=(
            "A check-in (day 2, 7 or the day-10 watch check-in) not answered 48 hours after it "
            "was sent, after one reminder (sent at 24 hours), is flagged for a clinician to "
            "call: a silent patient cannot be monitored. So is a check-in that could not be "
            "sent within the link lifetime of its due time (a session recorded late, an "
            "outage) when no later check-in of the session replaces it: nothing lapses in "
            "silence (clinical-reference.md, \"Nothing lapses\")."
        ),
    ),
)

RULES: Mapping[str, Rule] = MappingProxyType({rule.code: rule for rule in _RULE_LIST})

_FEVER = RULES["FEVER"]
_PUS = RULES["PUS"]
_SEVERE_PAIN = RULES["SEVERE_PAIN"]
_SEVERE_RASH = RULES["SEVERE_RASH"]
_SEVERE_SWELLING = RULES["SEVERE_SWELLING"]
_COMMENT_CONCERN = RULES["COMMENT_CONCERN"]
_RASH_PERSISTS = RULES["RASH_PERSISTS"]
_RASH_WORSENING = RULES["RASH_WORSENING"]
_RASH_LINGERING = RULES["RASH_LINGERING"]
_BREAKOUTS_PERSIST = RULES["BREAKOUTS_PERSIST"]
_BREAKOUTS_WORSENING = RULES["BREAKOUTS_WORSENING"]
_BREAKOUTS_SEVERE = RULES["BREAKOUTS_SEVERE"]
_BREAKOUTS_LINGERING = RULES["BREAKOUTS_LINGERING"]
_SWELLING = RULES["SWELLING"]
_SWELLING_LINGERING = RULES["SWELLING_LINGERING"]
_ALLERGY = RULES["ALLERGY"]
_NO_RESPONSE = RULES["NO_RESPONSE"]

# The codes that schedule the day-10 check-in when they match at day 7.
WATCH_CODES = frozenset(rule.code for rule in _RULE_LIST if rule.level is Level.WATCH)

# Clinic-level patterns, checked across patients (followups.escalations.clusters). RASH and
# BREAKOUT documents: allergic reactions to the products used (numbing creams,
# serums) point at a product lot; BREAKOUT: infection from equipment that is
# not properly sterilised points at a practitioner.
LOT_CLUSTER_CODES = frozenset({"SEVERE_RASH", "RASH_PERSISTS", "RASH_WORSENING", "ALLERGY"})
PRACTITIONER_CLUSTER_CODES = frozenset({"PUS", "FEVER"})
CLUSTER_CODES = LOT_CLUSTER_CODES | PRACTITIONER_CLUSTER_CODES

# Reasons are listed by level, highest first, then in RULES order.
_ORDER = {rule.code: position for position, rule in enumerate(_RULE_LIST)}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Reason:
    """Why one rule matched: its code and the facts staff are shown, as parameters.

    No words: ``params`` holds what the message says (the check-in's day, a
    rating as its stored value, the previous rating, the comment's matched
    entries, the matched ingredients…), JSON values only, and the message is
    written from them where it is read (``followups.escalations.messages``),
    in the reader's language.
    """

    code: str
    level: Level
    source: str
    params: Mapping[str, object]

    def as_dict(self) -> dict[str, object]:
        """The stored form: code, parameters and the rule's source."""
        return {"code": self.code, "params": dict(self.params), "source": self.source}


@dataclass(frozen=True, slots=True)
class Assessment:
    """The decision for one check-in: the highest level and every matching reason."""

    level: Level
    reasons: tuple[Reason, ...]

    @property
    def flagged(self) -> bool:
        """A clinician must act (review or urgent): an escalation is raised."""
        return self.level >= Level.REVIEW

    @property
    def watch_codes(self) -> tuple[str, ...]:
        """The watch findings among the reasons, whatever the level beside them."""
        return tuple(reason.code for reason in self.reasons if reason.code in WATCH_CODES)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(reason.code for reason in self.reasons)

    def as_dict(self) -> dict[str, object]:
        """The stored form: the level, and each reason as ``Reason.as_dict``."""
        return {"level": self.level.label, "reasons": [r.as_dict() for r in self.reasons]}

    @classmethod
    def from_stored(cls, *, level: str, reasons: Sequence[Mapping[str, object]]) -> Assessment:
        """An assessment as ``as_dict`` stored it (each reason at its rule's level).

        A reason stored before reasons had parameters (``{code, message,
        source}``) comes back with none.
        """
        return cls(level=Level.from_label(level), reasons=tuple(
            _stored_reason(reason) for reason in reasons if reason.get("code") in RULES
        ))


def _stored_reason(reason: Mapping[str, object]) -> Reason:
    rule = RULES[str(reason["code"])]
    params = reason.get("params")
    return Reason(code=rule.code, level=rule.level, source=str(reason.get("source", "")),
                  params=dict(params) if isinstance(params, Mapping) else {})


_NOTHING = Assessment(level=Level.NONE, reasons=())


_SOURCES = {rule.code: rule.source for rule in _RULE_LIST}


def _reason(rule: Rule, *, level: Level | None = None, **params: object) -> Reason:
    return Reason(code=rule.code, level=level or rule.level, source=_SOURCES[rule.code],
                  params=params)


def _decide(reasons: list[Reason]) -> Assessment:
    if not reasons:
        return _NOTHING
    if len(reasons) > 1:
        reasons.sort(key=lambda reason: (-reason.level, _ORDER[reason.code]))
    return Assessment(level=max(reason.level for reason in reasons), reasons=tuple(reasons))


# --------------------------------------------------------------------------- assessing

# The day of the last routine check-in: persistence is judged from it. A later
# check-in (the watch check-in, day 10 by default) is judged by the day-10 rules.
LATE_DAY = 7


class _Worsening(TypedDict):
    rating: str
    previous_rating: str | None
    said_worse: bool


def _worsening(now: Severity, before: Severity | None, said_worse: bool) -> _Worsening:
    """A worsening reason's parameters: the rating, and what it rose from when it rose."""
    rose = before is not None and now > before
    return {"rating": now.value_name,
            "previous_rating": before.value_name if rose and before is not None else None,
            "said_worse": said_worse}


def previous_needed(answers: Answers) -> bool:
    """Whether assessing ``answers`` reads the session's earlier answers at all.

    Only a rash or breakouts rated above none are compared with the last
    answer (a rating that rose since; breakouts improving by every signal).
    With neither, ``assess_answers`` decides the same with or without them,
    so they need not be read: most day-7 answers, when the skin has healed.
    """
    return answers.rash > Severity.NONE or answers.breakouts > Severity.NONE


def assess_answers(
    *,
    answers: Answers,
    day: int,
    previous: Sequence[Answers],
    known_allergies: Iterable[str],
    product_ingredients: Iterable[str],
    comment: str = "",
    language: str = "en",
    acne_prone: bool = False,
) -> Assessment:
    """Decide whether one check-in's answers need a clinician, another look, or nothing.

    ``previous`` holds the earlier answers of the same session, oldest first;
    comparisons use the most recent of them (none: only the patient's own
    trend counts), and only when ``previous_needed(answers)``. ``day`` is the
    check-in's day: before day 7 the early rules, at day 7 the day-7 rules,
    after it (the watch check-in) the day-10 rules.
    ``product_ingredients`` are the session's, as recorded when it was saved.
    ``comment`` is read against the warning signs of every language
    (``followups.assessment.comments``; ``language``, the patient's, only names
    the entry a sign was read as). ``acne_prone``: the patient's skin usually has
    some breakouts (their mild, not-worse breakouts at day 7 and day 10 are their
    usual skin). No rule of
    the answers depends on the clock: the day is the check-in's.
    """
    reasons: list[Reason] = []
    add = reasons.append
    last = previous[-1] if previous else None
    at_day_7 = day == LATE_DAY
    after_day_7 = day > LATE_DAY

    # -- urgent: signs of infection or a serious reaction (RASH, BREAKOUT)
    if answers.fever:
        add(_reason(_FEVER, day=day))
    if answers.pus:
        add(_reason(_PUS, day=day))
    if answers.pain >= Severity.SEVERE:
        add(_reason(_SEVERE_PAIN, day=day, rating=answers.pain.value_name))
    rash = answers.rash
    if rash >= Severity.SEVERE:
        add(_reason(_SEVERE_RASH, day=day, rating=rash.value_name))
    swelling = answers.swelling
    if swelling == Severity.VERY_SEVERE:
        add(_reason(_SEVERE_SWELLING, day=day, rating=swelling.value_name))
    elif answers.hives and swelling >= Severity.MODERATE:
        # Possibly the start of a severe allergic reaction (the rule's policy).
        add(_reason(_SEVERE_SWELLING, day=day, rating=swelling.value_name, with_hives=True))

    # -- the patient's own words: read whatever the ratings say
    found = comment_warnings(comment, language=language)
    if found:
        level = Level.URGENT if found.emergency else _COMMENT_CONCERN.level
        add(_reason(_COMMENT_CONCERN, level=level, day=day, words=list(found.matched),
                    emergency=bool(found.emergency)))

    # -- rash: review when outside the expected course, watch when it may still be
    rash_before = last.rash if last is not None else None
    rash_said_worse = answers.rash_trend is Trend.WORSE
    rash_rose = rash_before is not None and rash > rash_before
    if (at_day_7 and rash >= Severity.MODERATE) or (after_day_7 and rash > Severity.NONE):
        add(_reason(_RASH_PERSISTS, day=day, rating=rash.value_name))
    if rash_said_worse or rash_rose:
        add(_reason(_RASH_WORSENING, day=day, **_worsening(rash, rash_before, rash_said_worse)))
    if at_day_7 and rash == Severity.MILD and not (rash_said_worse or rash_rose):
        add(_reason(_RASH_LINGERING, day=day, rating=rash.value_name))

    # -- breakouts
    breakouts = answers.breakouts
    breakouts_before = last.breakouts if last is not None else None
    breakouts_said_worse = answers.breakouts_trend is Trend.WORSE
    breakouts_rose = breakouts_before is not None and breakouts > breakouts_before
    # Improving needs every available signal to agree (see the rule's policy).
    improving = answers.breakouts_trend is Trend.BETTER and (
        breakouts_before is None or breakouts < breakouts_before
    )
    # An acne-prone patient's mild breakouts, not worse: their usual skin (the rules' policy).
    usual_skin = (acne_prone and breakouts == Severity.MILD
                  and not (breakouts_said_worse or breakouts_rose))
    if not improving and not usual_skin and ((at_day_7 and breakouts >= Severity.MODERATE)
                                             or (after_day_7 and breakouts > Severity.NONE)):
        add(_reason(_BREAKOUTS_PERSIST, day=day, rating=breakouts.value_name))
    if breakouts_said_worse or breakouts_rose:
        add(_reason(_BREAKOUTS_WORSENING, day=day,
                    **_worsening(breakouts, breakouts_before, breakouts_said_worse)))
    if breakouts >= Severity.SEVERE:
        add(_reason(_BREAKOUTS_SEVERE, day=day, rating=breakouts.value_name))
    if at_day_7 and not usual_skin and (
        (breakouts == Severity.MILD and not (breakouts_said_worse or breakouts_rose))
        or (breakouts == Severity.MODERATE and improving)
    ):
        add(_reason(_BREAKOUTS_LINGERING, day=day, rating=breakouts.value_name))

    # -- swelling (very severe is SEVERE_SWELLING above)
    if swelling == Severity.SEVERE:
        add(_reason(_SWELLING, day=day, rating=swelling.value_name))
    elif (at_day_7 and swelling == Severity.MODERATE) or (
        after_day_7 and Severity.NONE < swelling < Severity.VERY_SEVERE
    ):
        add(_reason(_SWELLING, day=day, rating=swelling.value_name, still_present=True))
    if at_day_7 and swelling == Severity.MILD:
        add(_reason(_SWELLING_LINGERING, day=day, rating=swelling.value_name))

    # Hives alone suggest an allergic reaction; a skin reaction does when the
    # session used an ingredient the patient is known to react to.
    reacting = [name for name in reaction_names() if getattr(answers, name) > Severity.NONE]
    matched = allergy_matches(known_allergies, product_ingredients) if reacting else ()
    if answers.hives or matched:
        symptoms = ["hives"] if answers.hives else []
        if matched:
            symptoms.extend(reacting)
        add(_reason(_ALLERGY, day=day, symptoms=symptoms, ingredients=list(matched)))

    return _decide(reasons)


def assess_non_response(
    *,
    day: int,
    sent_at: datetime,
    reminder_sent_at: datetime | None,
    now: datetime,
    window: timedelta = timedelta(hours=48),
) -> Assessment:
    """Flag a check-in still unanswered ``window`` after it was sent, despite a reminder."""
    if reminder_sent_at is None or now < sent_at + window:
        return _NOTHING
    hours = window / timedelta(hours=1)
    reason = _reason(_NO_RESPONSE, day=day, cause="unanswered",
                     hours=int(hours) if hours.is_integer() else hours)
    return Assessment(level=_NO_RESPONSE.level, reasons=(reason,))


def assess_undelivered(*, day: int, why: str) -> Assessment:
    """A check-in email that could not be delivered: the patient was never asked.

    The same fact as NO_RESPONSE (a silent patient cannot be monitored), and
    the same level: someone phones the patient and checks their address.
    ``why`` is the delivery's own error, kept as it came.
    """
    reason = _reason(_NO_RESPONSE, day=day, cause="undelivered", why=why)
    return Assessment(level=_NO_RESPONSE.level, reasons=(reason,))


def assess_not_sent(*, day: int, due_at: datetime, now: datetime) -> Assessment:
    """A check-in that could not be sent in time, with no later check-in to replace it.

    clinical-reference.md, "Nothing lapses": the patient was never asked, and
    the session has no check-in left to ask them with; someone calls. The same
    level as NO_RESPONSE. ``late_hours``: how long after its due time it was
    found unsent.
    """
    reason = _reason(_NO_RESPONSE, day=day, cause="not_sent",
                     late_hours=max(0, int((now - due_at) / timedelta(hours=1))))
    return Assessment(level=_NO_RESPONSE.level, reasons=(reason,))
