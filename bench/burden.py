"""Alert burden: how many patients the rules put on a nurse's list, and whom they miss.

Fixed-seed populations go through the real assessment (``followups.assessment.rules``:
``assess_answers``, with the previous answer, the session's ingredients, the
comment, the patient's language and whether they are acne-prone) at day 2 and
day 7, and at day 10 when a watch finding at day 7 schedules it, exactly as
``response_record`` decides. Three clinics, each its own population
(``CLINICS``): a general clinic (below), an acne clinic and a chatty
multilingual clinic (``_acne_normal``, ``_chatty_normal`` and their worrying
kinds further down).

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

Targets, in every clinic: normal-course patients flagged review or urgent at
any check-in ≤ 10% (alert fatigue); worrying-course patients flagged 100%. The
share watched (a day-10 check-in, no call) is reported beside them.
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
    acne_prone: bool = False
    # The kind of each comment by day, where the population says (the chatty clinic's:
    # "mention", "benign", or a worrying one's "warning").
    comment_kinds: dict[int, str] = field(default_factory=dict)
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


# --------------------------------------------------------------------------- the acne clinic
# 60% of its patients are acne-prone (Patient.acne_prone); a third of those have
# their usual mild acne at every check-in, staying the same. clinical-reference.md,
# "Acne-prone patients": that is their usual skin, neither watched nor flagged.

ACNE_PRONE_SHARE = 0.6
USUAL_ACNE_SHARE = 1 / 3


def _with(answers: Answers, **given: object) -> Answers:
    return _answers(**{**answers.values, **given})


def _acne_normal(rng: random.Random) -> Patient:
    patient = _normal(rng)
    if rng.random() < ACNE_PRONE_SHARE:
        patient.acne_prone = True
        if rng.random() < USUAL_ACNE_SHARE:
            for day, answers in patient.answers.items():
                patient.answers[day] = _with(answers, breakouts=S.MILD,
                                             breakouts_trend=Trend.SAME)
    return patient


def _acne_worrying(rng: random.Random, index: int) -> Patient:
    patient = _worrying_of(ACNE_WORRYING_KINDS, rng, index)
    patient.acne_prone = patient.acne_prone or rng.random() < ACNE_PRONE_SHARE
    return patient


def _usual_acne_then(p: Patient, **day7: object) -> None:
    """An acne-prone patient with their usual mild acne at day 2, and ``day7`` at day 7."""
    p.acne_prone = True
    p.answers[2] = _answers(breakouts=S.MILD, breakouts_trend=Trend.SAME, rash=S.MILD,
                            rash_trend=Trend.SAME)
    p.answers[7] = _answers(**day7)


def _acne_flares(rng, p):
    _usual_acne_then(p, breakouts=S.MILD, breakouts_trend=Trend.WORSE)


def _acne_turns_moderate(rng, p):
    _usual_acne_then(p, breakouts=S.MODERATE, breakouts_trend=rng.choice((Trend.SAME,
                                                                          Trend.WORSE)))


def _acne_infected(rng, p):
    _usual_acne_then(p, breakouts=S.MILD, breakouts_trend=Trend.SAME, pus=True)


def _acne_severe(rng, p):
    _usual_acne_then(p, breakouts=S.SEVERE, breakouts_trend=Trend.SAME)


def _acne_back_at_day_10(rng, p):
    # Clear at day 7 but for a mild rash (watched); breakouts back at day 10.
    p.acne_prone = True
    p.answers[7] = _answers(rash=S.MILD, rash_trend=Trend.BETTER)
    p.answers[WATCH_DAY] = _answers(breakouts=S.MILD, breakouts_trend=Trend.WORSE)


ACNE_WORRYING_KINDS = (*WORRYING_KINDS, _acne_flares, _acne_turns_moderate, _acne_infected,
                       _acne_severe, _acne_back_at_day_10)


# --------------------------------------------------------------------------- the chatty clinic
# Patients in English, French and Spanish who write: 10% of check-ins name a sign
# in passing that is harmless or denied ("temperature normal", "nada de costras",
# "swelling going down"); many more a benign comment. Its worrying patients write
# their sign as people do (plurals, misspellings, numbers, an emoji, another
# language than the one on file), the forms clinical-reference.md ("Comments:
# warning signs") says are read. Today's reader reads neither negation nor those
# forms: the rows say what it does with them.

MENTION_SHARE = 0.10
BENIGN_SHARE = 0.30
# Harmless or denied mentions of a warning sign: a person reads them, nobody calls.
MENTIONS = {
    "en": ("No fever, all good", "temperature normal this morning", "swelling going down",
           "the swelling has gone", "no pus, no crusts, just dry", "no longer oozing, thanks",
           "No blisters or anything like that", "Not infected I think, looks fine",
           "no fever or chills", "Swelling is much better today"),
    "fr": ("Pas de fièvre, tout va bien", "température normale ce matin",
           "plus de gonflement", "pas de pus ni de croûtes", "le gonflement a disparu",
           "aucune cloque, la peau est douce", "pas d'infection je pense",
           "le gonflement diminue"),
    "es": ("sin fiebre, todo bien", "nada de costras", "la hinchazón ya bajó",
           "temperatura normal", "no hay pus", "ya no está hinchado",
           "ni fiebre ni escalofríos", "no tengo ampollas"),
}
BENIGN = {
    "en": (*BENIGN_COMMENTS[:6], "Bit tight after washing", "Happy so far!",
           "Using the cream you gave me"),
    "fr": ("Merci, ça va", "Un peu rouge encore", "La peau tire un peu",
           "Très contente du résultat", "Ça gratte un peu le soir"),
    "es": ("Todo bien, gracias", "Un poco roja todavía", "Me pica un poco",
           "Muy contenta con el resultado", "La piel está un poco seca"),
}
# Worrying signs written only in the comment, as patients write them; each the
# reference says must be read (warning or emergency).
WORRYING_COMMENTS = {
    "en": ("temp 39 last night", "Fevr last night and shivery", "puss coming out of a pimple",
           "crusty yellow bits on my chin", "face is really puffy", "🤒🤒",
           "my lips swelled up and my chest feels tight", "passed out this morning",
           "the redness is spreading, there's a red streak", "no fever but pus on one spot",
           "I used my EpiPen", "101F this morning"),
    "fr": ("lèvres gonflées", "j'étouffe un peu depuis ce matin", "38,5 de fièvre cette nuit",
           "ça suinte et il y a des croûtes", "je me suis évanouie", "pas de fièvre mais du pus",
           "mes joues sont enflées", "ça s'étend vers le cou"),
    "es": ("labios hinchados y me falta el aire", "se me hincha la cara",
           "me sale pus de un grano", "tengo 38,5 de temperatura", "me desmayé esta mañana",
           "sin fiebre pero supura", "tengo fiebre", "me cuesta respirar"),
}
CHATTY_LANGUAGES = ("en", "fr", "es")


def _chatty_normal(rng: random.Random) -> Patient:
    patient = _normal(rng)
    patient.language = rng.choice(CHATTY_LANGUAGES)
    patient.comments.clear()
    for day in (2, 7, WATCH_DAY):
        roll = rng.random()
        if roll < MENTION_SHARE:
            # Mostly in their own language, sometimes in another.
            language = patient.language if rng.random() < 0.8 else rng.choice(CHATTY_LANGUAGES)
            patient.comments[day] = rng.choice(MENTIONS[language])
            patient.comment_kinds[day] = "mention"
        elif roll < MENTION_SHARE + BENIGN_SHARE:
            patient.comments[day] = rng.choice(BENIGN[patient.language])
            patient.comment_kinds[day] = "benign"
    return patient


def _chatty_worrying(rng: random.Random, index: int) -> Patient:
    patient = _worrying_of(CHATTY_WORRYING_KINDS, rng, index)
    if patient.language == "en" and not patient.comments:
        patient.language = rng.choice(CHATTY_LANGUAGES)
    return patient


def _written_as_people_write(rng, p):
    """A sign only in the comment, in the patient's language or another."""
    p.language = rng.choice(CHATTY_LANGUAGES)
    written_in = p.language if rng.random() < 0.8 else rng.choice(CHATTY_LANGUAGES)
    day = rng.choice((2, 7))
    p.answers[day] = _answers(rash=S.MILD, rash_trend=Trend.SAME) if day == 2 else _answers()
    p.comments[day] = rng.choice(WORRYING_COMMENTS[written_in])
    p.comment_kinds[day] = "warning"


CHATTY_WORRYING_KINDS = (*WORRYING_KINDS, *(_written_as_people_write,) * 5)


# --------------------------------------------------------------------------- the clinics


def _general_worrying(rng: random.Random, index: int) -> Patient:
    return _worrying_of(WORRYING_KINDS, rng, index)


def _worrying_of(kinds, rng: random.Random, index: int) -> Patient:
    """One of ``kinds`` in turn; the rest of the answers calm."""
    calm2 = _answers(rash=S.MILD, rash_trend=Trend.SAME, swelling=S.MILD)
    patient = Patient(course="worrying", answers={2: calm2, 7: _answers(),
                                                  WATCH_DAY: _answers()})
    kinds[index % len(kinds)](rng, patient)
    return patient


@dataclass(frozen=True)
class Clinic:
    """A population: how its normal-course and its worrying-course patients are made."""

    name: str
    title: str
    normal: Callable[[random.Random], Patient]
    worrying: Callable[[random.Random, int], Patient]
    kinds: tuple[Callable[[random.Random, Patient], None], ...]


CLINICS = {clinic.name: clinic for clinic in (
    Clinic("general", "general clinic", _normal, _general_worrying, WORRYING_KINDS),
    Clinic("acne", "acne clinic (60% acne-prone)", _acne_normal, _acne_worrying,
           ACNE_WORRYING_KINDS),
    Clinic("chatty", "chatty multilingual clinic (en/fr/es, 10% harmless or denied mentions)",
           _chatty_normal, _chatty_worrying, CHATTY_WORRYING_KINDS),
)}


def population(*, normal: int = NORMAL_PATIENTS, worrying: int = WORRYING_PATIENTS,
               seed: int = SEED, clinic: str = "general") -> list[Patient]:
    kind = CLINICS[clinic]
    rng = random.Random(seed)
    return ([kind.normal(rng) for _ in range(normal)]
            + [kind.worrying(rng, index) for index in range(worrying)])


@dataclass(frozen=True)
class Course:
    """What the rules did with one patient across their check-ins."""

    flagged: bool
    watched: bool
    checkins: int
    # The days asked, and those whose comment raised COMMENT_CONCERN.
    asked: tuple[int, ...] = ()
    comments_flagged: frozenset[int] = frozenset()


def course_assess(patient: Patient) -> Course:
    """Day 2, day 7 and, after a watch answer at day 7, day 10: as the service does it."""
    flagged = watched = False
    comments_flagged: set[int] = set()
    previous: list[Answers] = []
    days = [2, LATE_DAY]
    asked: list[int] = []
    while days:
        day = days.pop(0)
        answers = patient.answers[day]
        assessment = rules.assess_answers(
            answers=answers, day=day, previous=tuple(previous),
            known_allergies=patient.allergies, product_ingredients=INGREDIENTS,
            comment=patient.comments.get(day, ""), language=patient.language,
            acne_prone=patient.acne_prone,
        )
        asked.append(day)
        flagged = flagged or assessment.level >= Level.REVIEW
        if "COMMENT_CONCERN" in assessment.codes:
            comments_flagged.add(day)
        if day == LATE_DAY and assessment.watch_codes:
            watched = True
            days.append(WATCH_DAY)
        previous.append(answers)
    return Course(flagged=flagged, watched=watched, checkins=len(asked), asked=tuple(asked),
                  comments_flagged=frozenset(comments_flagged))


@dataclass(frozen=True)
class Burden:
    normal: int
    normal_flagged: int
    normal_watched: int
    worrying: int
    worrying_flagged: int
    worrying_watched: int
    checkins: int
    # Comments of each kind the population wrote on a check-in asked ("mention",
    # "benign", "warning"), and how many of them raised COMMENT_CONCERN.
    comments: tuple[tuple[str, int, int], ...] = ()
    clinic: str = "general"

    @property
    def normal_share(self) -> float:
        return self.normal_flagged / self.normal

    @property
    def worrying_share(self) -> float:
        return self.worrying_flagged / self.worrying

    def comments_of(self, kind: str) -> tuple[int, int]:
        """(written, flagged) for one kind of comment."""
        return next(((written, flagged) for name, written, flagged in self.comments
                     if name == kind), (0, 0))


def burden_measure(*, normal: int = NORMAL_PATIENTS, worrying: int = WORRYING_PATIENTS,
                   seed: int = SEED, clinic: str = "general") -> Burden:
    counts = {"normal": [0, 0, 0], "worrying": [0, 0, 0]}
    comments: dict[str, list[int]] = {}
    checkins = 0
    for patient in population(normal=normal, worrying=worrying, seed=seed, clinic=clinic):
        course = course_assess(patient)
        tally = counts[patient.course]
        tally[0] += 1
        tally[1] += course.flagged
        tally[2] += course.watched
        checkins += course.checkins
        for day in course.asked:
            if day in patient.comment_kinds:
                kind = comments.setdefault(patient.comment_kinds[day], [0, 0])
                kind[0] += 1
                kind[1] += day in course.comments_flagged
    return Burden(normal=counts["normal"][0], normal_flagged=counts["normal"][1],
                  normal_watched=counts["normal"][2], worrying=counts["worrying"][0],
                  worrying_flagged=counts["worrying"][1],
                  worrying_watched=counts["worrying"][2], checkins=checkins,
                  comments=tuple((kind, *tally) for kind, tally in sorted(comments.items())),
                  clinic=clinic)


def burden_bench():
    """The benchmark's rows (bench.report.Result): two targets and the share watched for
    each clinic, and what the comment reader did with the chatty clinic's comments."""
    from bench.report import Result, Target, informational

    rows = []
    for clinic in CLINICS.values():
        measured = burden_measure(clinic=clinic.name)
        rows += [
            Result(operation=f"Alert burden, {clinic.title}: normal-course patients flagged "
                             f"review/urgent ({measured.normal:,}, seed {SEED})",
                   figure=f"{measured.normal_share:.1%} ({measured.normal_flagged:,} of "
                          f"{measured.normal:,})",
                   value=measured.normal_share * 100,
                   target=Target("<=", NORMAL_TARGET * 100, "%")),
            Result(operation=f"Alert burden, {clinic.title}: worrying-course patients flagged "
                             f"({measured.worrying:,})",
                   figure=f"{measured.worrying_share:.0%} ({measured.worrying_flagged:,} of "
                          f"{measured.worrying:,})",
                   value=measured.worrying_share * 100,
                   target=Target(">=", WORRYING_TARGET * 100, "%")),
            informational(
                f"Alert burden, {clinic.title}: patients watched (a day-10 check-in, no call)",
                f"normal course {measured.normal_watched / measured.normal:.1%} "
                f"({measured.normal_watched:,}), worrying course "
                f"{measured.worrying_watched / measured.worrying:.0%} "
                f"({measured.worrying_watched:,}); {measured.checkins:,} check-ins assessed"),
        ]
        if measured.comments:
            rows.append(informational(
                f"Alert burden, {clinic.title}: comments raising COMMENT_CONCERN",
                "; ".join(f"{COMMENT_KINDS[kind]} {flagged:,} of {written:,}"
                          for kind, written, flagged in measured.comments)))
    return rows


# How the comment row names each kind of comment.
COMMENT_KINDS = {"mention": "harmless or denied mentions", "benign": "other benign comments",
                 "warning": "worrying signs written only in the comment"}


if __name__ == "__main__":
    for name in CLINICS:
        result = burden_measure(clinic=name)
        print(name, f"normal {result.normal_share:.1%}", f"worrying {result.worrying_share:.0%}",
              result.comments)
