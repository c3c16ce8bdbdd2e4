"""Escalation rules for the day-2 and day-7 check-ins after microneedling.

Pure domain code: standard library only, no Django, no I/O, the clock passed in.
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
from enum import IntEnum, StrEnum
from types import MappingProxyType

__all__ = [
    "AFTERCARE",
    "Answers",
    "Assessment",
    "CLUSTER_CODES",
    "ESCALATION_LEVELS",
    "LOT_CLUSTER_CODES",
    "PRACTITIONER_CLUSTER_CODES",
    "GuidanceText",
    "Level",
    "RASH_DOCUMENT",
    "BREAKOUT_DOCUMENT",
    "RULES",
    "Reason",
    "Rule",
    "Severity",
    "Trend",
    "allergy_matches",
    "assess_answers",
    "assess_non_response",
    "patient_guidance",
]

RASH_DOCUMENT = "000_eb7b0212037e7f6e.txt"
BREAKOUT_DOCUMENT = "004_c61f5d8783ebbe28.txt"


# --------------------------------------------------------------------------- scales


class Severity(IntEnum):
    """The five-step PRO-CTCAE symptom scale; the order is the clinical order."""

    NONE = 0
    MILD = 1
    MODERATE = 2
    SEVERE = 3
    VERY_SEVERE = 4

    @classmethod
    def from_value(cls, value: object) -> Severity:
        """``"none"`` … ``"very_severe"`` (or a Severity) to a Severity; anything else raises."""
        if isinstance(value, Severity):
            return value
        if isinstance(value, str):
            found = _SEVERITY_BY_NAME.get(value.strip().lower())
            if found is not None:
                return found
        raise ValueError(f"unknown severity {value!r}; expected one of {list(_SEVERITY_BY_NAME)}")

    @property
    def value_name(self) -> str:
        """The interface's string for this step, e.g. ``"very_severe"``."""
        return self.name.lower()

    @property
    def words(self) -> str:
        """The step as staff read it in a message, e.g. ``"very severe"``."""
        return _SEVERITY_WORDS[self]

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(stored value, label) pairs, mildest first: the models' and forms' choices."""
        return [(step.value_name, step.words.capitalize()) for step in cls]


_SEVERITY_BY_NAME: dict[str, Severity] = {s.name.lower(): s for s in Severity}
_SEVERITY_WORDS: dict[Severity, str] = {s: s.name.lower().replace("_", " ") for s in Severity}


class Trend(StrEnum):
    """The patient's own view of a symptom since the previous check-in."""

    BETTER = "better"
    SAME = "same"
    WORSE = "worse"

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(stored value, label) pairs: the models' and the API's choices."""
        return [(trend.value, _TREND_LABELS[trend]) for trend in cls]


_TREND_LABELS = {Trend.BETTER: "Better", Trend.SAME: "About the same", Trend.WORSE: "Worse"}


class Level(IntEnum):
    """How soon the clinic must act. Ordered so that ``max()`` keeps the highest."""

    NONE = 0
    REVIEW = 1
    URGENT = 2

    @property
    def label(self) -> str:
        """The stored and interface value, e.g. ``"urgent"``."""
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> Level:
        """``"none"``, ``"review"`` or ``"urgent"`` to its Level; anything else raises."""
        try:
            return cls[label.upper()]
        except KeyError:
            raise ValueError(f"unknown level {label!r}; expected one of "
                             f"{[level.label for level in cls]}") from None

    @classmethod
    def choices(cls, *, escalating_only: bool = False) -> list[tuple[str, str]]:
        """(stored value, label) pairs, lowest first; ``escalating_only`` leaves out none."""
        return [(level.label, level.label.capitalize()) for level in cls
                if level > cls.NONE or not escalating_only]


# The levels an escalation can have: a patient flagged for a clinician.
ESCALATION_LEVELS = (Level.REVIEW, Level.URGENT)


# --------------------------------------------------------------------------- answers


_SEVERITY_FIELDS = ("rash", "breakouts", "itching", "swelling", "pain")
_TREND_FIELDS = ("rash_trend", "breakouts_trend")
_BOOL_FIELDS = ("fever", "pus", "hives")
_TRUE_WORDS = frozenset({"yes", "true", "1", "on"})
_FALSE_WORDS = frozenset({"no", "false", "0", "off"})


@dataclass(frozen=True, slots=True)
class Answers:
    """One check-in's answers, whichever channel they came by (link or phone)."""

    rash: Severity
    breakouts: Severity
    itching: Severity
    swelling: Severity
    pain: Severity
    rash_trend: Trend | None
    breakouts_trend: Trend | None
    fever: bool
    pus: bool
    hives: bool

    def __post_init__(self) -> None:
        # Refuse raw strings here: comparing "severe" with Severity.SEVERE would
        # raise deep inside a rule instead of at the boundary where it is fixable.
        for name in _SEVERITY_FIELDS:
            if not isinstance(getattr(self, name), Severity):
                raise TypeError(f"{name} must be a Severity, got {getattr(self, name)!r}")
        for name in _TREND_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, Trend):
                raise TypeError(f"{name} must be a Trend or None, got {value!r}")
        for name in _BOOL_FIELDS:
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Answers:
        """Build from the interface's answer fields; unknown keys (photo, comments) are ignored.

        Severities are ``"none"`` … ``"very_severe"``; trends ``"better"``/``"same"``/
        ``"worse"``, or ``None``/``""`` when not asked; fever, pus and hives are
        bools or ``"yes"``/``"no"`` (also ``"true"``/``"false"``). A missing or
        unknown value raises ``ValueError`` naming the field: a missing answer is
        never read as "no".
        """
        values: dict[str, object] = {}
        for name in _SEVERITY_FIELDS:
            if name not in data:
                raise ValueError(f"{name}: missing")
            try:
                values[name] = Severity.from_value(data[name])
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        for name in _TREND_FIELDS:
            values[name] = _trend_from_value(name, data.get(name))
        for name in _BOOL_FIELDS:
            if name not in data:
                raise ValueError(f"{name}: missing")
            values[name] = _bool_from_value(name, data[name])
        return cls(**values)  # type: ignore[arg-type]


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
        code="RASH_PERSISTS",
        level=Level.REVIEW,
        document=RASH_DOCUMENT,
        fact='"If the rash persists beyond a week … it is crucial to consult a healthcare '
        'professional"; "consult your dermatologist if it does not resolve within a few days"',
        policy=(
            "Any rash (mild or worse) still present at the day-7 check-in flags, although the "
            'documents say "beyond a week": day 7 is the last check-in, and the rash was '
            'expected to resolve "within a few days".'
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
        code="BREAKOUTS_PERSIST",
        level=Level.REVIEW,
        document=BREAKOUT_DOCUMENT,
        fact='"If breakouts persist or worsen, it\'s advisable to consult your dermatologist"',
        policy=(
            "Breakouts still present at day 7 count as improving only when every available "
            'signal agrees: the patient says "better" AND, if there is an earlier check-in, '
            'the rating is lower than it was then. A missing trend, or "better" with an '
            "unchanged or higher rating, is not improving. Each part only flags more as an "
            "answer gets worse, so a worse answer can never lower the level."
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
        code="SWELLING",
        level=Level.REVIEW,
        document=RASH_DOCUMENT,
        fact='"accompanied by other symptoms such as fever or swelling, it is crucial to '
        'consult a healthcare professional"',
        policy=(
            "Swelling is part of normal healing in the first days, so it flags when rated "
            "severe or very severe at any check-in, or when any swelling is still present "
            "at the day-7 check-in."
        ),
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
                'procedure, such as numbing creams or serums"',
            ),
        ),
        policy=(
            "Hives alone flag, as a sign of an allergic reaction. A rash or itching (mild or "
            "worse) flags when a product used in the session lists an ingredient the patient "
            "is known to react to; names are matched exactly, ignoring case and surrounding "
            "spaces, so ingredients and allergies must be recorded by their names."
        ),
    ),
    Rule(
        code="NO_RESPONSE",
        level=Level.REVIEW,
        document=RASH_DOCUMENT,
        fact='"it is essential to monitor the rash and seek professional advice if it does '
        'not resolve"',
        policy=(
            "A check-in not answered 48 hours after it was sent, after one reminder (sent at "
            "24 hours), is flagged for a clinician to call: a silent patient cannot be "
            "monitored."
        ),
    ),
)

RULES: Mapping[str, Rule] = MappingProxyType({rule.code: rule for rule in _RULE_LIST})

_FEVER = RULES["FEVER"]
_PUS = RULES["PUS"]
_SEVERE_PAIN = RULES["SEVERE_PAIN"]
_SEVERE_RASH = RULES["SEVERE_RASH"]
_RASH_PERSISTS = RULES["RASH_PERSISTS"]
_RASH_WORSENING = RULES["RASH_WORSENING"]
_BREAKOUTS_PERSIST = RULES["BREAKOUTS_PERSIST"]
_BREAKOUTS_WORSENING = RULES["BREAKOUTS_WORSENING"]
_SWELLING = RULES["SWELLING"]
_ALLERGY = RULES["ALLERGY"]
_NO_RESPONSE = RULES["NO_RESPONSE"]

# Clinic-level patterns, checked across patients (followups.clusters). RASH and
# BREAKOUT documents: allergic reactions to the products used (numbing creams,
# serums) point at a product lot; BREAKOUT: infection from equipment that is
# not properly sterilised points at a practitioner.
LOT_CLUSTER_CODES = frozenset({"SEVERE_RASH", "RASH_PERSISTS", "RASH_WORSENING", "ALLERGY"})
PRACTITIONER_CLUSTER_CODES = frozenset({"PUS", "FEVER"})
CLUSTER_CODES = LOT_CLUSTER_CODES | PRACTITIONER_CLUSTER_CODES

# Reasons are listed urgent first, then in RULES order.
_ORDER = {rule.code: (-rule.level, position) for position, rule in enumerate(_RULE_LIST)}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Reason:
    """Why one rule matched, written for clinic staff."""

    code: str
    level: Level
    message: str
    source: str

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "level": self.level.label,
            "message": self.message,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Assessment:
    """The decision for one check-in: the highest level and every matching reason."""

    level: Level
    reasons: tuple[Reason, ...]

    @property
    def flagged(self) -> bool:
        return self.level > Level.NONE

    def as_dict(self) -> dict[str, object]:
        return {
            "level": self.level.label,
            "reasons": [
                {"code": r.code, "message": r.message, "source": r.source} for r in self.reasons
            ],
        }


_NOTHING = Assessment(level=Level.NONE, reasons=())


_SOURCES = {rule.code: rule.source for rule in _RULE_LIST}


def _reason(rule: Rule, message: str) -> Reason:
    return Reason(code=rule.code, level=rule.level, message=message, source=_SOURCES[rule.code])


def _decide(reasons: list[Reason]) -> Assessment:
    if not reasons:
        return _NOTHING
    if len(reasons) > 1:
        reasons.sort(key=lambda reason: _ORDER[reason.code])
    return Assessment(level=max(reason.level for reason in reasons), reasons=tuple(reasons))


# --------------------------------------------------------------------------- assessing


def allergy_matches(known_allergies: Iterable[str], ingredients: Iterable[str]) -> list[str]:
    """Ingredients the patient is known to react to, sorted and without duplicates.

    Exact name match, ignoring case and surrounding whitespace; blank names never
    match. Each match is returned once, as written in the product (trimmed).
    """
    if isinstance(known_allergies, str) or isinstance(ingredients, str):
        # A bare string would be matched letter by letter.
        raise TypeError("known_allergies and ingredients must be collections of names")
    allergies = {key for name in known_allergies if (key := name.strip().casefold())}
    if not allergies:
        return []
    matched: dict[str, str] = {}
    for name in ingredients:
        written = name.strip()
        key = written.casefold()
        if key in allergies:
            kept = matched.get(key)
            # Keep one spelling per ingredient, independent of the order given.
            if kept is None or written < kept:
                matched[key] = written
    return [matched[key] for key in sorted(matched)]


def _at(day: int) -> str:
    return f"at the day-{day} check-in"


def _worsening_message(
    symptom: str, now: Severity, before: Severity | None, said_worse: bool, at: str
) -> str:
    if before is not None and now > before:
        message = (
            f"{symptom} rated {now.words} {at}, up from {before.words} at the previous check-in"
        )
        if said_worse:
            message += ", and reported as getting worse"
        return message
    return f"{symptom} reported as getting worse (rated {now.words}) {at}"


def assess_answers(
    *,
    answers: Answers,
    day: int,
    previous: Sequence[Answers],
    known_allergies: Iterable[str],
    product_ingredients: Iterable[str],
    now: datetime,
) -> Assessment:
    """Decide whether one check-in's answers need a clinician, and why.

    ``previous`` holds the earlier answers of the same session, oldest first;
    comparisons use the most recent of them. ``day`` is the check-in's day (2 or
    7); persistence rules apply from day 7. ``now`` is accepted so that every
    domain rule takes the clock as an argument; no rule here depends on it yet.
    """
    reasons: list[Reason] = []
    add = reasons.append
    last = previous[-1] if previous else None
    late = day >= 7
    at = _at(day)

    # -- urgent: signs of infection or a serious reaction (RASH, BREAKOUT)
    if answers.fever:
        add(_reason(_FEVER, f"Fever reported {at}"))
    if answers.pus:
        add(_reason(_PUS, f"Pus or discharge reported {at}"))
    if answers.pain >= Severity.SEVERE:
        add(_reason(_SEVERE_PAIN, f"Pain rated {answers.pain.words} {at}"))
    rash = answers.rash
    if rash >= Severity.SEVERE:
        add(_reason(_SEVERE_RASH, f"Rash rated {rash.words} {at}"))

    # -- review: outside the expected course of healing
    if late and rash > Severity.NONE:
        add(_reason(_RASH_PERSISTS, f"Rash still present (rated {rash.words}) {at}"))

    rash_before = last.rash if last is not None else None
    rash_said_worse = answers.rash_trend is Trend.WORSE
    if rash_said_worse or (rash_before is not None and rash > rash_before):
        add(
            _reason(
                _RASH_WORSENING,
                _worsening_message("Rash", rash, rash_before, rash_said_worse, at),
            )
        )

    breakouts = answers.breakouts
    breakouts_before = last.breakouts if last is not None else None
    if late and breakouts > Severity.NONE:
        # Improving needs every available signal to agree (see the rule's policy).
        improving = answers.breakouts_trend is Trend.BETTER and (
            breakouts_before is None or breakouts < breakouts_before
        )
        if not improving:
            add(
                _reason(
                    _BREAKOUTS_PERSIST,
                    f"Breakouts still present (rated {breakouts.words}) and not improving {at}",
                )
            )

    breakouts_said_worse = answers.breakouts_trend is Trend.WORSE
    if breakouts_said_worse or (breakouts_before is not None and breakouts > breakouts_before):
        add(
            _reason(
                _BREAKOUTS_WORSENING,
                _worsening_message(
                    "Breakouts", breakouts, breakouts_before, breakouts_said_worse, at
                ),
            )
        )

    swelling = answers.swelling
    if swelling >= Severity.SEVERE:
        add(_reason(_SWELLING, f"Swelling rated {swelling.words} {at}"))
    elif late and swelling > Severity.NONE:
        add(_reason(_SWELLING, f"Swelling still present (rated {swelling.words}) {at}"))

    # Hives alone suggest an allergic reaction; a rash or itching does when the
    # session used an ingredient the patient is known to react to.
    itching = answers.itching
    matched = (
        allergy_matches(known_allergies, product_ingredients)
        if rash > Severity.NONE or itching > Severity.NONE
        else ()
    )
    if answers.hives or matched:
        symptoms = ["hives"] if answers.hives else []
        if matched:
            if rash > Severity.NONE:
                symptoms.append("rash")
            if itching > Severity.NONE:
                symptoms.append("itching")
        listed = (
            symptoms[0]
            if len(symptoms) == 1
            else (f"{', '.join(symptoms[:-1])} and {symptoms[-1]}")
        )
        message = f"{listed.capitalize()} reported {at}"
        if matched:
            message += (
                f"; the session used {', '.join(matched)}, which the patient is known to react to"
            )
        add(_reason(_ALLERGY, message))

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
    shown = f"{hours:g} hours"
    reason = _reason(
        _NO_RESPONSE,
        f"Day-{day} check-in not answered {shown} after it was sent, despite a reminder",
    )
    return Assessment(level=_NO_RESPONSE.level, reasons=(reason,))


# --------------------------------------------------------------------------- patient text


@dataclass(frozen=True, slots=True)
class GuidanceText:
    """What the patient reads after submitting a check-in."""

    headline: str
    paragraphs: tuple[str, ...]


# Aftercare from both documents, in plain words ("non-comedogenic" becomes
# "will not clog pores").
AFTERCARE: tuple[str, ...] = (
    "Keep the treated area clean. Wash it with a gentle, mild cleanser that will not "
    "clog your pores.",
    "Keep your skin hydrated with a moisturiser.",
    "Stay out of direct sun.",
    "Avoid harsh skincare products, scrubs and exfoliants, and products that contain alcohol.",
    "A cool compress can soothe the skin.",
    "Ask a pharmacist, doctor or nurse before taking or using any medicine, such as "
    "antihistamines or anti-inflammatory creams.",
)

_WHEN_TO_GET_HELP = (
    "Seek medical help straight away if you get a fever, pus, intense pain or a rash that "
    "becomes severe. Contact your clinic if the rash or breakouts last more than a week or "
    "get worse."
)

_GUIDANCE = {
    Level.URGENT: GuidanceText(
        headline="Please seek medical help now",
        paragraphs=(
            "Some of your answers can be signs of an infection or an allergic reaction. "
            "These need prompt medical attention.",
            "Please see a doctor today: contact your doctor or go to an urgent care clinic. "
            "Do not wait for the clinic to call you. If you feel very unwell, call your "
            "local emergency number.",
            "We have told your clinic about your answers.",
        ),
    ),
    Level.REVIEW: GuidanceText(
        headline="Thank you. Your clinic will contact you",
        paragraphs=(
            "Some of your answers are outside what we usually expect while the skin heals. "
            "Someone from your clinic will contact you within one business day.",
            "Until then, keep looking after your skin:",
            *AFTERCARE,
            _WHEN_TO_GET_HELP,
        ),
    ),
    Level.NONE: GuidanceText(
        headline="Thank you. Your skin seems to be healing as expected",
        paragraphs=(
            "Redness, mild swelling, small red bumps, a few pimples and mild itching are a "
            "normal part of healing. They usually go away on their own within a few days to "
            "a week.",
            "To help your skin heal:",
            *AFTERCARE,
            _WHEN_TO_GET_HELP,
        ),
    ),
}


def patient_guidance(level: Level) -> GuidanceText:
    """The plain-language text for a patient whose answers were assessed at ``level``."""
    return _GUIDANCE[Level(level)]
