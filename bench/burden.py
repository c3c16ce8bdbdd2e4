"""Alert burden: how many patients the rules put on a nurse's list, and whom they miss.

A fixed-seed population goes through the real assessment (``followups.assessment.rules``:
``assess_answers``, with the previous answer, the session's ingredients, the
comment and the patient's language) at day 2 and day 7, and at day 10 when a
watch finding at day 7 schedules it, exactly as ``response_record`` decides.

- **Normal course** (2,000 patients): healing as the documents describe it —
  redness, small bumps, mild or moderate swelling and a purge in the first
  days, subsiding "within a few days to a week"; a few still have a trace at
  day 7 (watched), a few of those at day 10; some have a known allergy that no
  product used contains; some write a comment, a few of which name a warning
  word in passing ("no fever, all good": negations are not read).
- **Worrying course** (100 patients): the documents' signs to act on — fever,
  pus, intense pain, a severe or spreading rash, hives with swelling, a
  reaction to a known allergen (written as labels write it: a salt, a synonym),
  a rash that persists or worsens, breakouts that persist, a warning written
  only in the comment, a mild rash still there at day 10.

Targets: normal-course patients flagged review or urgent at any check-in
≤ 10% (alert fatigue); worrying-course patients flagged 100%. The share
watched (a day-10 check-in, no call) is reported beside them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from followups.assessment import rules
from followups.assessment.rules import Answers, Level, Severity, Trend
from followups.assessment.symptoms import calm_answers, symptoms_with_trend

NORMAL_PATIENTS = 2000
WORRYING_PATIENTS = 100
SEED = 20251201
NORMAL_TARGET = 0.10
WORRYING_TARGET = 1.0
LATE_DAY = 7
WATCH_DAY = 10

S = Severity
NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
NUMBING = ["Lidocaine Hydrochloride 4%", "Prilocaine 2.5%", "Water", "Carbomer"]
SERUM = ["Water", "Sodium Hyaluronate", "Aloe Barbadensis Leaf Juice", "Glycerin",
         "Phenoxyethanol", "Tocopheryl Acetate"]
INGREDIENTS = [*NUMBING, *SERUM]
# Allergies that the products above do not contain (normal course).
UNRELATED_ALLERGIES = (["penicillin"], ["latex"], ["lanolin"], ["nickel"], ["benzocaine"])
BENIGN_COMMENTS = ("Thanks!", "A bit red still but fine", "Feels tight and dry",
                   "All good, thank you", "Looks much better today", "Slightly itchy",
                   "Merci, ça va", "Todo bien, gracias")
# Comments of a calm patient that still name a warning word (policy: flagged).
IN_PASSING = ("No fever, all good", "No swelling any more", "no pus, just dry")


@dataclass
class Patient:
    course: str
    language: str = "en"
    allergies: list[str] = field(default_factory=list)
    # The check-ins' answers by day, and each one's comment; day 10 is only
    # asked when day 7 is watched.
    answers: dict[int, Answers] = field(default_factory=dict)
    comments: dict[int, str] = field(default_factory=dict)


CALM = Answers.from_mapping(calm_answers())


def _answers(**given: object) -> Answers:
    """Calm answers (none, no) but for ``given``."""
    answers = {**CALM.values, **given}
    # A trend is only given for a symptom that is present (CheckInResponse.clean).
    for symptom in symptoms_with_trend():
        if not answers[symptom.name]:
            answers[symptom.trend_name] = None
    return Answers(**answers)


def _normal(rng: random.Random) -> Patient:
    patient = Patient(course="normal", language=rng.choice(("en", "en", "en", "fr", "es")))
    if rng.random() < 0.08:
        patient.allergies = list(rng.choice(UNRELATED_ALLERGIES))
    day2_rash = rng.choices([S.NONE, S.MILD, S.MODERATE], [0.25, 0.55, 0.20])[0]
    day2_breakouts = rng.choices([S.NONE, S.MILD, S.MODERATE], [0.65, 0.28, 0.07])[0]
    patient.answers[2] = _answers(
        rash=day2_rash, rash_trend=rng.choice([Trend.BETTER, Trend.SAME]),
        breakouts=day2_breakouts, breakouts_trend=rng.choice([Trend.BETTER, Trend.SAME]),
        itching=rng.choices([S.NONE, S.MILD], [0.6, 0.4])[0],
        swelling=rng.choices([S.NONE, S.MILD, S.MODERATE], [0.3, 0.55, 0.15])[0],
        pain=rng.choices([S.NONE, S.MILD, S.MODERATE], [0.5, 0.4, 0.1])[0],
    )
    # Day 7: mostly gone; what is left is milder than at day 2 and getting better.
    lingering = rng.random() < 0.25
    rash7 = S.MILD if lingering and day2_rash > S.NONE and rng.random() < 0.6 else S.NONE
    breakouts7 = (min(day2_breakouts, S.MILD) if day2_breakouts and rng.random() < 0.35
                  else S.NONE)
    swelling7 = S.MILD if lingering and rng.random() < 0.3 else S.NONE
    patient.answers[7] = _answers(rash=rash7, rash_trend=Trend.BETTER,
                                  breakouts=breakouts7, breakouts_trend=Trend.BETTER,
                                  swelling=swelling7,
                                  itching=S.MILD if rng.random() < 0.1 else S.NONE)
    # Day 10 (only asked when day 7 is watched): healed, a few with a trace left.
    trace = rng.random() < 0.04
    patient.answers[WATCH_DAY] = _answers(
        rash=S.MILD if trace and rash7 else S.NONE, rash_trend=Trend.BETTER,
        breakouts=S.MILD if breakouts7 and rng.random() < 0.3 else S.NONE,
        breakouts_trend=Trend.BETTER,
    )
    for day in (2, 7):
        roll = rng.random()
        if roll < 0.015:
            patient.comments[day] = rng.choice(IN_PASSING)
        elif roll < 0.15:
            patient.comments[day] = rng.choice(BENIGN_COMMENTS)
    return patient


def _worrying(rng: random.Random, index: int) -> Patient:
    """One of the documents' signs to act on, in turn; the rest of the answers calm."""
    calm2 = _answers(rash=S.MILD, rash_trend=Trend.SAME, swelling=S.MILD)
    calm7 = _answers()
    patient = Patient(course="worrying", answers={2: calm2, 7: calm7, WATCH_DAY: _answers()})
    kind = WORRYING_KINDS[index % len(WORRYING_KINDS)]
    kind(rng, patient)
    return patient


def _fever(rng, p):
    p.answers[rng.choice((2, 7))] = _answers(rash=S.MILD, rash_trend=Trend.SAME, fever=True)


def _pus(rng, p):
    p.answers[2] = _answers(breakouts=S.MODERATE, breakouts_trend=Trend.WORSE, pus=True)


def _intense_pain(rng, p):
    p.answers[2] = _answers(pain=rng.choice((S.SEVERE, S.VERY_SEVERE)))


def _severe_rash(rng, p):
    p.answers[2] = _answers(rash=S.SEVERE, rash_trend=Trend.WORSE, itching=S.MODERATE)


def _hives_and_swelling(rng, p):
    p.answers[2] = _answers(hives=True, swelling=S.MODERATE, itching=S.MODERATE)


def _known_allergen(rng, p):
    p.allergies = [rng.choice(("lidocaine", "lignocaine", "aloe", "hyaluronic acid",
                               "vitamin E"))]
    p.answers[2] = _answers(rash=S.MILD, rash_trend=Trend.SAME, itching=S.MILD)


def _rash_persists(rng, p):
    p.answers[7] = _answers(rash=S.MODERATE, rash_trend=Trend.SAME)


def _rash_worsens(rng, p):
    p.answers[7] = _answers(rash=S.MILD, rash_trend=Trend.WORSE)


def _breakouts_persist(rng, p):
    p.answers[2] = _answers(breakouts=S.MODERATE, breakouts_trend=Trend.SAME)
    p.answers[7] = _answers(breakouts=S.MODERATE, breakouts_trend=Trend.SAME)


def _comment_only(rng, p):
    p.language = rng.choice(("en", "fr", "es"))
    words = {"en": ("my face is swollen shut", "I have a fever of 39",
                    "yellow smelly pus from the spots", "my throat feels tight"),
             "fr": ("j'ai de la fièvre", "ça suinte et il y a des croûtes"),
             "es": ("tengo fiebre", "me cuesta respirar")}[p.language]
    p.answers[2] = _answers()
    p.comments[2] = rng.choice(words)


def _still_there_at_day_10(rng, p):
    p.answers[7] = _answers(rash=S.MILD, rash_trend=Trend.BETTER)
    p.answers[WATCH_DAY] = _answers(rash=S.MILD, rash_trend=Trend.SAME)


WORRYING_KINDS: tuple[Callable[[random.Random, Patient], None], ...] = (
    _fever, _pus, _intense_pain, _severe_rash, _hives_and_swelling, _known_allergen,
    _rash_persists, _rash_worsens, _breakouts_persist, _comment_only, _still_there_at_day_10,
)


def population(*, normal: int = NORMAL_PATIENTS, worrying: int = WORRYING_PATIENTS,
               seed: int = SEED) -> list[Patient]:
    rng = random.Random(seed)
    return ([_normal(rng) for _ in range(normal)]
            + [_worrying(rng, index) for index in range(worrying)])


@dataclass(frozen=True)
class Course:
    """What the rules did with one patient across their check-ins."""

    flagged: bool
    watched: bool
    checkins: int


def course_assess(patient: Patient) -> Course:
    """Day 2, day 7 and, after a watch answer at day 7, day 10: as the service does it."""
    flagged = watched = False
    previous: list[Answers] = []
    days = [2, LATE_DAY]
    asked = 0
    while days:
        day = days.pop(0)
        answers = patient.answers[day]
        assessment = rules.assess_answers(
            answers=answers, day=day, previous=tuple(previous),
            known_allergies=patient.allergies, product_ingredients=INGREDIENTS,
            comment=patient.comments.get(day, ""), language=patient.language,
        )
        asked += 1
        flagged = flagged or assessment.level >= Level.REVIEW
        if day == LATE_DAY and assessment.watch_codes:
            watched = True
            days.append(WATCH_DAY)
        previous.append(answers)
    return Course(flagged=flagged, watched=watched, checkins=asked)


@dataclass(frozen=True)
class Burden:
    normal: int
    normal_flagged: int
    normal_watched: int
    worrying: int
    worrying_flagged: int
    worrying_watched: int
    checkins: int

    @property
    def normal_share(self) -> float:
        return self.normal_flagged / self.normal

    @property
    def worrying_share(self) -> float:
        return self.worrying_flagged / self.worrying


def burden_measure(*, normal: int = NORMAL_PATIENTS, worrying: int = WORRYING_PATIENTS,
                   seed: int = SEED) -> Burden:
    counts = {"normal": [0, 0, 0], "worrying": [0, 0, 0]}
    checkins = 0
    for patient in population(normal=normal, worrying=worrying, seed=seed):
        course = course_assess(patient)
        tally = counts[patient.course]
        tally[0] += 1
        tally[1] += course.flagged
        tally[2] += course.watched
        checkins += course.checkins
    return Burden(normal=counts["normal"][0], normal_flagged=counts["normal"][1],
                  normal_watched=counts["normal"][2], worrying=counts["worrying"][0],
                  worrying_flagged=counts["worrying"][1],
                  worrying_watched=counts["worrying"][2], checkins=checkins)


def burden_bench():
    """The benchmark's rows (bench.report.Result)."""
    from bench.report import Result, Target, informational

    measured = burden_measure()
    return [
        Result(operation=f"Alert burden: normal-course patients flagged review/urgent "
                         f"({measured.normal:,}, seed {SEED})",
               figure=f"{measured.normal_share:.1%} ({measured.normal_flagged:,} of "
                      f"{measured.normal:,})",
               value=measured.normal_share * 100, target=Target("<=", NORMAL_TARGET * 100, "%")),
        Result(operation=f"Alert burden: worrying-course patients flagged "
                         f"({measured.worrying:,})",
               figure=f"{measured.worrying_share:.0%} ({measured.worrying_flagged:,} of "
                      f"{measured.worrying:,})",
               value=measured.worrying_share * 100,
               target=Target(">=", WORRYING_TARGET * 100, "%")),
        informational(
            "Alert burden: patients watched (a day-10 check-in, no call)",
            f"normal course {measured.normal_watched / measured.normal:.1%} "
            f"({measured.normal_watched:,}), worrying course "
            f"{measured.worrying_watched / measured.worrying:.0%} "
            f"({measured.worrying_watched:,}); {measured.checkins:,} check-ins assessed"),
    ]


if __name__ == "__main__":
    result = burden_measure()
    print(result, f"normal {result.normal_share:.1%}", f"worrying {result.worrying_share:.0%}")
