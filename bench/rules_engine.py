"""The rules engine on its own: microseconds per assessment, and not one query."""

from __future__ import annotations

import random
import time

from bench.datagen import ALLERGIES, ALLERGY_RATE, NUMBING_WEIGHTS, PRODUCTS, answers_draw
from bench.report import Result, Target

TARGET_MICROSECONDS = 50

# About one response in seven carries a comment (as in the alert burden's
# populations), in any of the three languages, read in all three: mostly
# harmless, some denying a sign, some naming one, a few misspelt or with a
# temperature; the reader's word cache warms as a real vocabulary would.
COMMENT_RATE = 0.15
COMMENTS = (
    ("en", "Thanks, all good!"), ("en", "A bit red still but otherwise fine"),
    ("en", "Skin feels tight and dry, can I use my moisturiser?"),
    ("en", "Looks much better today, just a few small spots on my chin"),
    ("en", "No fever, just a bit pink"), ("en", "Swelling going down nicely"),
    ("en", "temp 36.8 this morning, all fine"), ("en", "Fevr last night, better now"),
    ("en", "There's some yellowish discharge from a couple of the spots"),
    ("en", "my lips are swollen and my chest feels tight"),
    ("fr", "Merci, tout va bien"), ("fr", "Encore un peu rouge mais ça va"),
    ("fr", "Pas de fièvre, juste quelques rougeurs"), ("fr", "Le gonflement a disparu"),
    ("fr", "Ça suinte au niveau du menton et il y a des croûtes"),
    ("es", "Todo bien, gracias"), ("es", "Un poco roja todavía pero bien"),
    ("es", "Sin fiebre, gracias"), ("es", "La hinchazón está bajando"),
    ("es", "Tengo 38,5 y escalofríos desde anoche"),
)


def _cases(count: int, seed: int) -> list[dict]:
    """Assessments as the service makes them: day 7 compares with day 2's answers."""
    from followups.assessment import rules

    rng = random.Random(seed)
    numbing = [ingredients for _, kind, ingredients in PRODUCTS if kind == "numbing_cream"]
    serums = [ingredients for _, kind, ingredients in PRODUCTS if kind != "numbing_cream"]
    cases = []
    for _ in range(count):
        day = rng.choice((2, 7))
        previous = [rules.Answers.from_mapping(answers_draw(rng, 2))] if day == 7 else []
        language, comment = rng.choice(COMMENTS) if rng.random() < COMMENT_RATE else ("en", "")
        cases.append({
            "answers": rules.Answers.from_mapping(answers_draw(rng, day)),
            "comment": comment,
            "language": language,
            "day": day,
            "previous": previous,
            "known_allergies": rng.choice(ALLERGIES) if rng.random() < ALLERGY_RATE else [],
            "product_ingredients": [*rng.choices(numbing, NUMBING_WEIGHTS)[0],
                                    *rng.choice(serums)],
        })
    return cases


def rules_bench(*, cases: int = 4000, repeats: int = 7, seed: int = 7) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from followups.assessment.rules import assess_answers

    prepared = _cases(cases, seed)
    timings = []
    with CaptureQueriesContext(connection) as queries:
        for _ in range(repeats):
            start = time.perf_counter()
            for case in prepared:
                assess_answers(**case)
            timings.append(time.perf_counter() - start)
        flagged = sum(assess_answers(**case).flagged for case in prepared)
    # The best pass is the engine's own cost; the others add the machine's noise.
    microseconds = min(timings) / len(prepared) * 1e6
    median = sorted(timings)[len(timings) // 2] / len(prepared) * 1e6
    return Result(
        operation="Rules engine, per response (assess_answers)",
        figure=f"{microseconds:.1f} µs/call (median pass {median:.1f} µs), "
               f"{len(queries)} queries",
        target=Target("<=", TARGET_MICROSECONDS, "µs"),
        value=microseconds,
        checks=[("0 queries", len(queries) == 0)],
        note=f"{len(prepared):,} realistic answer sets ({flagged / len(prepared):.1%} flagged), "
             f"{COMMENT_RATE:.0%} with a comment in English, French or Spanish, "
             f"best of {repeats} passes; queries counted with CaptureQueriesContext.",
    )
