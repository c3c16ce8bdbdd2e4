"""Which advice a patient reads after answering, as codes: pure, no words.

``clinical-reference.md`` ("Guidance shown to patients"): guidance fits the
patient's answers, not only their level. This module chooses it — the
headline, and the blocks of the page in order, each a code with its
parameters (the findings we name, the aftercare tips for the symptoms
reported, the watch day…). The words, in the patient's language, are in the
templates (``templates/followups/guidance.html``), keyed by these codes.

Standard library only, like the rules it reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from followups.assessment.comments import comment_warnings
from followups.assessment.rules import RULES, WATCH_CODES, Answers, Assessment, Level, Severity
from followups.assessment.symptoms import severity_names

__all__ = [
    "AFTERCARE_TIPS",
    "BLOCK_CODES",
    "Block",
    "Guidance",
    "HEADLINE_CODES",
    "TOLD_US_CODES",
    "guidance_for_answers",
]


@dataclass(frozen=True, slots=True)
class Block:
    """One part of the page: a code the templates know, and what it names."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Guidance:
    """What the patient reads after submitting a check-in, as codes."""

    level: Level
    headline: Block
    blocks: tuple[Block, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(block.code for block in self.blocks)


# Headlines, one a level; at level none, a comment waiting to be read has its own:
# a page never says the skin is healing as expected while a person has yet to read
# what the patient wrote (clinical-reference.md, "Guidance shown to patients").
SEEK_HELP_NOW = "SEEK_HELP_NOW"
CLINIC_WILL_CONTACT = "CLINIC_WILL_CONTACT"
CHECK_AGAIN = "CHECK_AGAIN"  # {day}
HEALING_AS_EXPECTED = "HEALING_AS_EXPECTED"
MESSAGE_WILL_BE_READ = "MESSAGE_WILL_BE_READ"
HEADLINE_CODES = (SEEK_HELP_NOW, CLINIC_WILL_CONTACT, CHECK_AGAIN, HEALING_AS_EXPECTED,
                  MESSAGE_WILL_BE_READ)

# Blocks.
# *Policy*: an allergic reaction with swelling or breathing trouble can close
# the airway; the clinic's phone is not the right number for that.
EMERGENCY_LINE = "EMERGENCY_LINE"
TOLD_US = "TOLD_US"  # {findings: rule codes, still_normal: bool}
# What the comment named, in the patient's own words: {words: the entries matched}.
YOU_WROTE = "YOU_WROTE"
URGENT_SIGNS = "URGENT_SIGNS"  # can be signs of an infection or an allergic reaction
SEE_A_DOCTOR_TODAY = "SEE_A_DOCTOR_TODAY"
CLINIC_TOLD = "CLINIC_TOLD"
CLINIC_WILL_CALL = "CLINIC_WILL_CALL"  # within one business day
WATCH_DAY = "WATCH_DAY"  # {day}
NORMAL_HEALING = "NORMAL_HEALING"  # what is normal, and that it passes
AFTERCARE = "AFTERCARE"  # {intro: one of AFTERCARE_INTROS, tips: tip codes}
# The safety line, on every page whatever the level (clinical-reference.md, revised):
# call the clinic for a fever, pus, swelling or redness that gets worse or spreads,
# or intense pain; the emergency number at once for swelling lips, tongue or
# throat, or breathing that becomes hard.
WHEN_TO_GET_HELP = "WHEN_TO_GET_HELP"
COMMENT_LINE = "COMMENT_LINE"  # a flagged comment: the clinic will read it
COMMENT_WAITS = "COMMENT_WAITS"  # a comment to read: a person reads it within a business day
BLOCK_CODES = (EMERGENCY_LINE, TOLD_US, YOU_WROTE, URGENT_SIGNS, SEE_A_DOCTOR_TODAY,
               CLINIC_TOLD, CLINIC_WILL_CALL, WATCH_DAY, NORMAL_HEALING, AFTERCARE,
               WHEN_TO_GET_HELP, COMMENT_LINE, COMMENT_WAITS)

# The sentence before the tips: while waiting for the clinic or for a doctor, or to
# help healing.
UNTIL_THEN = "UNTIL_THEN"
TO_HELP_HEAL = "TO_HELP_HEAL"
MEANWHILE = "MEANWHILE"
AFTERCARE_INTROS = (UNTIL_THEN, TO_HELP_HEAL, MEANWHILE)

# Aftercare from both documents, in plain words in the template ("non-comedogenic"
# becomes "will not clog your pores"). Each tip names the symptoms it is for (None:
# every patient): RASH — avoid direct sun, gentle products, keep the skin
# moisturised, a cool compress, ask a professional before any medicine;
# BREAKOUT — gentle non-comedogenic cleanser, hydration, no harsh exfoliants
# or alcohol-based products.
AFTERCARE_TIPS: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("CLEAN", None),
    ("CLEANSER", frozenset({"breakouts"})),
    ("MOISTURISE", None),
    ("SUN", None),
    ("HARSH", frozenset({"breakouts", "rash"})),
    ("COMPRESS", frozenset({"rash", "swelling"})),
    ("MEDICINE", frozenset({"rash", "itching"})),
)

# What worried us, named to the patient ("You told us that you have a fever"):
# every finding of the answers; silence (NO_RESPONSE) is never on this page, and a
# comment's finding is named in the patient's own words (YOU_WROTE).
TOLD_US_CODES = tuple(code for code in RULES if code not in ("NO_RESPONSE", "COMMENT_CONCERN"))


def guidance_for_answers(
    *,
    assessment: Assessment,
    answers: Answers,
    comment: str = "",
    language: str = "en",
    watch_day: int = 10,
) -> Guidance:
    """What this patient reads after answering: their level, what worried us, their aftercare.

    Per ``clinical-reference.md`` ("Guidance shown to patients"): urgent names
    what they reported and, for an allergic reaction with swelling or
    breathing words, the emergency line; review says the clinic will call
    within a business day; watch says when we check again; every level gets
    the aftercare tips for the symptoms reported (urgent too) and the safety
    line; a comment's warning is named in the patient's own words; a comment
    waiting to be read gets its own sentence, and the page never says the skin
    is healing as expected while it waits.
    """
    level = assessment.level
    findings = [code for code in assessment.codes if code in TOLD_US_CODES
                and (level is not Level.WATCH or code in WATCH_CODES)]
    reported = {name for name in severity_names() if getattr(answers, name) > Severity.NONE}
    tips = [tip for tip, symptoms in AFTERCARE_TIPS if symptoms is None or symptoms & reported]
    airway = (
        (answers.hives and answers.swelling > Severity.NONE)
        or "SEVERE_SWELLING" in assessment.codes
        or bool(comment_warnings(comment, language=language).emergency)
    )
    written = [word for reason in assessment.reasons if reason.code == "COMMENT_CONCERN"
               for word in _words(reason.params.get("words"))]
    has_comment = bool(comment and comment.strip())
    # As response_record decides it: a comment that raised no flag waits for a person.
    waiting = has_comment and "COMMENT_CONCERN" not in assessment.codes

    def aftercare(intro: str) -> list[Block]:
        return [Block(AFTERCARE, {"intro": intro, "tips": list(tips)})]

    blocks: list[Block] = []
    if level in (Level.URGENT, Level.REVIEW):
        if airway:
            blocks.append(Block(EMERGENCY_LINE))
        if findings:
            blocks.append(Block(TOLD_US, {"findings": findings, "still_normal": False}))
        if written:
            blocks.append(Block(YOU_WROTE, {"words": written}))
    if level is Level.URGENT:
        headline = Block(SEEK_HELP_NOW)
        blocks += [Block(URGENT_SIGNS), Block(SEE_A_DOCTOR_TODAY), Block(CLINIC_TOLD),
                   *aftercare(MEANWHILE)]
    elif level is Level.REVIEW:
        headline = Block(CLINIC_WILL_CONTACT)
        blocks += [Block(CLINIC_WILL_CALL), *aftercare(UNTIL_THEN)]
    elif level is Level.WATCH:
        headline = Block(CHECK_AGAIN, {"day": watch_day})
        if findings:
            blocks.append(Block(TOLD_US, {"findings": findings, "still_normal": True}))
        blocks += [Block(WATCH_DAY, {"day": watch_day}), *aftercare(TO_HELP_HEAL)]
    else:
        headline = Block(MESSAGE_WILL_BE_READ if waiting else HEALING_AS_EXPECTED)
        blocks += [Block(NORMAL_HEALING), *aftercare(TO_HELP_HEAL)]
    blocks.append(Block(WHEN_TO_GET_HELP))
    if waiting:
        blocks.append(Block(COMMENT_WAITS))
    elif has_comment:
        blocks.append(Block(COMMENT_LINE))
    return Guidance(level=level, headline=headline, blocks=tuple(blocks))


def _words(value: object) -> list[str]:
    """A COMMENT_CONCERN reason's matched words (a list parameter), as strings."""
    return [str(word) for word in value] if isinstance(value, list | tuple) else []
