"""The symptoms a check-in asks about, each declared once, and the scales they are rated on.

Pure: standard library only, no Django. Everything that lists symptoms is
built from ``SYMPTOMS``: the answers the rules read
(``followups.assessment.rules.Answers``), the answers' columns, choices and
constraints (``followups.models``), the patient's form, the API's fields and
enums, the staff's chart, answer table, admin and exports.

A symptom's ``name`` is the interface's answer field ("Answer fields": the
same name in the form, the API and the database), and its trend question's
is ``<name>_trend``: integrations rely on them, so a name never changes once
it has shipped.

The words a patient reads are English gettext msgids (``Text``), translated
where they are shown (``followups.link.forms``): this layer translates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

__all__ = [
    "SYMPTOMS",
    "Scale",
    "Severity",
    "Symptom",
    "Text",
    "Trend",
    "TrendQuestion",
    "answer_names",
    "calm_answers",
    "reaction_names",
    "severity_names",
    "symptoms_on",
    "symptoms_with_trend",
    "trend_names",
    "yes_no_names",
]


@dataclass(frozen=True, slots=True)
class Text:
    """Words a patient reads: an English gettext msgid, and its context if it has one.

    Made with ``Text.gettext_noop`` or ``Text.pgettext``: makemessages looks
    for calls by those names, so the msgids written here stay in locale/ with
    their translations. Nothing is translated here.
    """

    msgid: str
    context: str = ""

    @classmethod
    def gettext_noop(cls, msgid: str) -> Text:
        return cls(msgid)

    @classmethod
    def pgettext(cls, context: str, msgid: str) -> Text:
        return cls(msgid, context)


# --------------------------------------------------------------------------- scales


class Scale(StrEnum):
    """How a symptom is rated."""

    # The five PRO-CTCAE steps, ``Severity``: "none" … "very_severe".
    SEVERITY = "severity"
    # Present or not: "yes"/"no" in the form, true/false in JSON, a boolean column.
    YES_NO = "yes_no"


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

    @property
    def patient_label(self) -> Text:
        """The step as the patient's form words it."""
        return _SEVERITY_PATIENT_LABELS[self]

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(stored value, label) pairs, mildest first: the models' and forms' choices."""
        return [(step.value_name, step.words.capitalize()) for step in cls]


_SEVERITY_BY_NAME: dict[str, Severity] = {s.name.lower(): s for s in Severity}
_SEVERITY_WORDS: dict[Severity, str] = {s: s.name.lower().replace("_", " ") for s in Severity}
_SEVERITY_PATIENT_LABELS = {
    Severity.NONE: Text.pgettext("how bad a symptom is", "None"),
    Severity.MILD: Text.pgettext("how bad a symptom is", "Mild"),
    Severity.MODERATE: Text.pgettext("how bad a symptom is", "Moderate"),
    Severity.SEVERE: Text.pgettext("how bad a symptom is", "Severe"),
    Severity.VERY_SEVERE: Text.pgettext("how bad a symptom is", "Very severe"),
}


class Trend(StrEnum):
    """The patient's own view of a symptom since the previous check-in."""

    BETTER = "better"
    SAME = "same"
    WORSE = "worse"

    @property
    def patient_label(self) -> Text:
        """The trend as a patient would say it."""
        return _TREND_PATIENT_LABELS[self]

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(stored value, label) pairs: the models' and the API's choices."""
        return [(trend.value, _TREND_LABELS[trend]) for trend in cls]


_TREND_LABELS = {Trend.BETTER: "Better", Trend.SAME: "About the same", Trend.WORSE: "Worse"}
_TREND_PATIENT_LABELS = {
    Trend.BETTER: Text.gettext_noop("Getting better"),
    Trend.SAME: Text.gettext_noop("About the same"),
    Trend.WORSE: Text.gettext_noop("Getting worse"),
}


# --------------------------------------------------------------------------- symptoms


@dataclass(frozen=True, slots=True)
class TrendQuestion:
    """Asked only about a symptom the patient has: is it getting better or worse?"""

    question: Text
    # The symptom after "You said you have …" and "Answer this if you have …".
    words: Text
    # …and after "You said you have no …".
    absent_words: Text


@dataclass(frozen=True, slots=True)
class Symptom:
    """One question of the check-in."""

    # The interface's answer field, read as ``answers.<name>`` by the rules
    # (so a Python name, and not ``values``, which holds them all).
    name: str
    scale: Scale
    # As staff read it: the chart's legend, the patient page's answer table.
    label: str
    # As the patient is asked.
    question: Text
    # For a symptom the documents follow over time ("persists or worsens").
    trend: TrendQuestion | None = None
    # A sign of the skin reacting to a product: with a product the patient is
    # known to react to, the rules' ALLERGY.
    reaction: bool = False

    @property
    def trend_name(self) -> str:
        """The answer field of its trend question, e.g. ``"rash_trend"``."""
        return f"{self.name}_trend"


# In the order the patient is asked, each symptom's trend right after it.
SYMPTOMS: tuple[Symptom, ...] = (
    Symptom(
        name="rash",
        scale=Scale.SEVERITY,
        label="Rash",
        question=Text.gettext_noop("Rash or redness"),
        trend=TrendQuestion(
            question=Text.gettext_noop("Is the rash or redness getting better or worse?"),
            words=Text.gettext_noop("a rash or redness"),
            absent_words=Text.pgettext("symptoms the patient said they do not have",
                                       "rash or redness"),
        ),
        reaction=True,
    ),
    Symptom(
        name="breakouts",
        scale=Scale.SEVERITY,
        label="Breakouts",
        question=Text.gettext_noop("Breakouts or pimples"),
        trend=TrendQuestion(
            question=Text.gettext_noop("Are the breakouts or pimples getting better or worse?"),
            words=Text.gettext_noop("breakouts or pimples"),
            absent_words=Text.pgettext("symptoms the patient said they do not have",
                                       "breakouts or pimples"),
        ),
        reaction=True,
    ),
    Symptom(
        name="itching",
        scale=Scale.SEVERITY,
        label="Itching",
        question=Text.gettext_noop("Itching"),
        reaction=True,
    ),
    Symptom(
        name="swelling",
        scale=Scale.SEVERITY,
        label="Swelling",
        question=Text.gettext_noop("Swelling"),
        reaction=True,
    ),
    Symptom(
        name="pain",
        scale=Scale.SEVERITY,
        label="Pain",
        question=Text.gettext_noop("Pain"),
    ),
    Symptom(
        name="fever",
        scale=Scale.YES_NO,
        label="Fever",
        question=Text.gettext_noop("Fever (feeling hot, shivery, or a temperature)"),
    ),
    Symptom(
        name="pus",
        scale=Scale.YES_NO,
        label="Pus or discharge",
        question=Text.gettext_noop("Pus or fluid from the treated skin or spots"),
    ),
    Symptom(
        name="hives",
        scale=Scale.YES_NO,
        label="Hives",
        question=Text.gettext_noop("Hives (raised, itchy welts)"),
    ),
)


# Each of these reads SYMPTOMS when called, not when this module is imported
# (a test may put another catalogue in its place); what they work out is kept
# for as long as the catalogue is the same one.


@dataclass(frozen=True, slots=True)
class _Lists:
    on: dict[Scale, tuple[Symptom, ...]]
    with_trend: tuple[Symptom, ...]
    severity_names: tuple[str, ...]
    trend_names: tuple[str, ...]
    yes_no_names: tuple[str, ...]
    reaction_names: tuple[str, ...]
    answer_names: tuple[str, ...]


_lists_of: tuple[tuple[Symptom, ...], _Lists] | None = None


def _lists() -> _Lists:
    global _lists_of
    if _lists_of is None or _lists_of[0] is not SYMPTOMS:
        on = {scale: tuple(symptom for symptom in SYMPTOMS if symptom.scale is scale)
              for scale in Scale}
        with_trend = tuple(symptom for symptom in SYMPTOMS if symptom.trend is not None)
        _lists_of = (SYMPTOMS, _Lists(
            on=on,
            with_trend=with_trend,
            severity_names=tuple(symptom.name for symptom in on[Scale.SEVERITY]),
            trend_names=tuple(symptom.trend_name for symptom in with_trend),
            yes_no_names=tuple(symptom.name for symptom in on[Scale.YES_NO]),
            reaction_names=tuple(symptom.name for symptom in SYMPTOMS if symptom.reaction),
            answer_names=_asked(SYMPTOMS),
        ))
    return _lists_of[1]


def _asked(catalogue: tuple[Symptom, ...]) -> tuple[str, ...]:
    names: list[str] = []
    for symptom in catalogue:
        names.append(symptom.name)
        if symptom.trend is not None:
            names.append(symptom.trend_name)
    return tuple(names)


def symptoms_on(scale: Scale) -> tuple[Symptom, ...]:
    """The symptoms rated on ``scale``, in the order asked."""
    return _lists().on[scale]


def symptoms_with_trend() -> tuple[Symptom, ...]:
    """The symptoms with a trend question, in the order asked."""
    return _lists().with_trend


def severity_names() -> tuple[str, ...]:
    return _lists().severity_names


def trend_names() -> tuple[str, ...]:
    return _lists().trend_names


def yes_no_names() -> tuple[str, ...]:
    return _lists().yes_no_names


def reaction_names() -> tuple[str, ...]:
    """The symptoms that can be the skin reacting to a product, in the order asked."""
    return _lists().reaction_names


def answer_names() -> tuple[str, ...]:
    """Every answer field in the order asked: each symptom, then its trend question."""
    return _lists().answer_names


def calm_answers() -> dict[str, str | bool]:
    """The answers of a patient with nothing to report, as the API's JSON spells them.

    Every severity ``"none"``, no trend (``""``), every yes/no false.
    """
    answers: dict[str, str | bool] = {}
    for symptom in SYMPTOMS:
        answers[symptom.name] = (Severity.NONE.value_name if symptom.scale is Scale.SEVERITY
                                 else False)
        if symptom.trend is not None:
            answers[symptom.trend_name] = ""
    return answers
