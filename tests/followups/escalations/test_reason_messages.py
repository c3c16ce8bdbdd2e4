"""A reason's message, written from the code and parameters stored, as staff read it."""

from __future__ import annotations

import importlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.utils import translation

from followups.assessment.rules import (
    RULES,
    Answers,
    Reason,
    Severity,
    Trend,
    assess_answers,
    assess_non_response,
    assess_not_sent,
    assess_undelivered,
)
from followups.escalations.messages import WRITTEN_CODES, reason_message, reasons_with_messages
from followups.models import Escalation
from tests.factories import response_for, session_with_checkins

S = Severity
NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
QUIET = Answers(rash=S.NONE, breakouts=S.NONE, itching=S.NONE, swelling=S.NONE, pain=S.NONE,
                rash_trend=None, breakouts_trend=None, fever=False, pus=False, hives=False)
CONVERSION = importlib.import_module("followups.migrations.0011_reasons_as_codes_and_parameters")


def answers(**changes: object) -> Answers:
    return replace(QUIET, **changes)


def _assessed(given: Answers, *, day: int, previous: tuple[Answers, ...] = (),
              comment: str = "", allergies: tuple[str, ...] = (),
              ingredients: tuple[str, ...] = ()) -> tuple[Reason, ...]:
    return assess_answers(answers=given, day=day, previous=previous, known_allergies=allergies,
                          product_ingredients=ingredients, comment=comment).reasons


def every_reason() -> list[Reason]:
    """Reasons of every code, in every shape its message takes, as the rules give them."""
    sent = NOW - timedelta(hours=50)
    return [
        # urgent findings, a comment's warning word, rash and breakouts risen and said worse,
        # an allergy with the ingredients matched
        *_assessed(answers(fever=True, pus=True, pain=S.VERY_SEVERE, rash=S.SEVERE,
                           rash_trend=Trend.WORSE, itching=S.MILD, swelling=S.VERY_SEVERE,
                           breakouts=S.SEVERE,
                           breakouts_trend=Trend.WORSE, hives=True),
                   day=7, previous=(answers(rash=S.MILD, rash_trend=Trend.SAME,
                                            breakouts=S.MILD, breakouts_trend=Trend.SAME),),
                   comment="yellow smelly pus", allergies=("lidocaine",),
                   ingredients=("Lidocaine HCl 4%", "water")),
        # hives with swelling, an emergency word, a rash said worse only, hives alone
        *_assessed(answers(hives=True, swelling=S.MODERATE, rash=S.MILD,
                           rash_trend=Trend.WORSE), day=2, comment="hard to breathe"),
        # risen but not said worse; still present at day 7
        *_assessed(answers(rash=S.MODERATE, rash_trend=Trend.SAME, breakouts=S.MODERATE,
                           breakouts_trend=Trend.SAME),
                   day=7, previous=(answers(rash=S.MILD, rash_trend=Trend.SAME,
                                            breakouts=S.MILD, breakouts_trend=Trend.SAME),)),
        *_assessed(answers(breakouts=S.MILD, breakouts_trend=Trend.WORSE), day=2),
        # watched at day 7
        *_assessed(answers(rash=S.MILD, rash_trend=Trend.SAME, breakouts=S.MILD,
                           breakouts_trend=Trend.SAME, swelling=S.MILD), day=7),
        *_assessed(answers(swelling=S.SEVERE), day=2),
        *_assessed(answers(swelling=S.MODERATE), day=7),
        *assess_non_response(day=7, sent_at=sent, reminder_sent_at=sent + timedelta(hours=24),
                             now=NOW).reasons,
        *assess_undelivered(day=2, why="550 5.1.1 mailbox unavailable").reasons,
        *assess_not_sent(day=7, due_at=NOW - timedelta(days=5, hours=1), now=NOW).reasons,
    ]


def written_before_parameters(reason: Reason) -> bool:
    """A reason the rules could write before reasons had parameters (and the conversion
    migration reads back): not one of a check-in never sent, which came later."""
    return reason.params.get("cause") != "not_sent"


def english(reason: Reason) -> str:
    with translation.override("en"):
        return reason_message(reason.as_dict())


def test_every_rule_has_a_message():
    reasons = every_reason()

    assert {reason.code for reason in reasons} == set(RULES) == WRITTEN_CODES


@pytest.mark.parametrize(("reason_index", "expected"), [
    (0, "Fever reported at the day-7 check-in"),
    (1, "Pus or discharge reported at the day-7 check-in"),
    (2, "Pain rated very severe at the day-7 check-in"),
    (3, "Rash rated severe at the day-7 check-in"),
    (4, "Swelling rated very severe at the day-7 check-in"),
    (5, 'The patient\'s comment at the day-7 check-in mentions "pus", "smelly"'),
])
def test_it_writes_the_message_staff_read(reason_index, expected):
    assert english(every_reason()[reason_index]) == expected


def test_it_writes_each_shape_of_a_message():
    messages = {english(reason) for reason in every_reason()}

    for expected in (
        "Hives with swelling rated moderate at the day-2 check-in: possibly the start of a "
        "severe allergic reaction",
        "The patient's comment at the day-2 check-in mentions \"breathe\" (breathing, "
        "swallowing, throat or tongue: urgent)",
        "Rash reported as getting worse (rated mild) at the day-2 check-in",
        "Rash rated severe at the day-7 check-in, up from mild at the previous check-in, "
        "and reported as getting worse",
        "Rash rated moderate at the day-7 check-in, up from mild at the previous check-in",
        "Breakouts reported as getting worse (rated mild) at the day-2 check-in",
        "Hives, rash, breakouts, itching and swelling reported at the day-7 check-in; the "
        "session used Lidocaine HCl 4%, which the patient is known to react to",
        "Hives reported at the day-2 check-in",
        "Mild rash still present, not getting worse, at the day-7 check-in: checked again later",
        "Breakouts rated mild, not getting worse, at the day-7 check-in: checked again later",
        "Mild swelling still present at the day-7 check-in: checked again later",
        "Swelling rated severe at the day-2 check-in",
        "Swelling still present (rated moderate) at the day-7 check-in",
        "Day-7 check-in not answered 48 hours after it was sent, despite a reminder",
        "Could not reach the patient: the day-2 check-in email could not be delivered (550 "
        "5.1.1 mailbox unavailable). Phone them, and check their email address",
        "No check-in could be sent: the day-7 check-in was still unsent 121 hours after its "
        "due time (a session recorded late, or an outage), and no later check-in follows. "
        "Phone the patient",
    ):
        assert expected in messages


def test_it_writes_the_message_in_the_active_language():
    fever = every_reason()[0]

    with translation.override("fr"):
        assert reason_message(fever.as_dict()) == "Fièvre signalée au questionnaire du jour 7"
    with translation.override("es"):
        assert reason_message(fever.as_dict()) == "Fiebre indicada en el control del día 7"


def test_it_keeps_the_stored_message_of_a_reason_stored_before_parameters():
    stored = {"code": "FEVER", "message": "Fever (old wording)", "source": "RASH"}

    assert reason_message(stored) == "Fever (old wording)"
    assert reasons_with_messages([stored]) == [stored]


def test_it_writes_the_code_when_the_parameters_cannot_be_read():
    assert reason_message({"code": "SEVERE_RASH", "params": {"day": 2}, "source": ""}) == (
        "SEVERE_RASH")


# --------------------------------------------------------------------------- stored rows


def test_the_conversion_reads_back_every_message_the_rules_wrote():
    for reason in filter(written_before_parameters, every_reason()):
        old = {"code": reason.code, "message": english(reason), "source": reason.source}

        assert CONVERSION._english(reason.code, dict(reason.params)) == old["message"]
        assert CONVERSION.reason_with_params(old) == reason.as_dict()
        assert CONVERSION.reason_with_message(reason.as_dict()) == old


def test_the_conversion_keeps_a_message_it_cannot_read():
    older = {"code": "SWELLING", "message": "Swelling rated mild at day 7", "source": "RASH"}
    odd = {"code": "ALLERGY", "message": "Sneezing reported at the day-2 check-in",
           "source": "RASH"}

    assert CONVERSION.reason_with_params(older) == older
    assert CONVERSION.reason_with_params(odd) == odd


@pytest.mark.django_db
def test_stored_reasons_are_converted_and_read_the_same(patient):
    session = session_with_checkins(patient=patient)
    response = response_for(session.checkins.get(day=2), fever=True, rash="moderate",
                            rash_trend="worse")
    escalation = Escalation.objects.get()
    # As they were stored before reasons had parameters, and one of an older wording.
    old_rows = reasons_with_messages(escalation.reasons)
    old_rows.append({"code": "PUS", "message": "Pus (an older wording)", "source": "RASH"})
    Escalation.objects.filter(pk=escalation.pk).update(reasons=old_rows)
    type(response).objects.filter(pk=response.pk).update(assessment_reasons=old_rows)

    CONVERSION.forwards(apps, None)

    escalation.refresh_from_db()
    response.refresh_from_db()
    assert escalation.reasons[:2] == [reason.as_dict() for reason in _assessed(
        answers(fever=True, rash=S.MODERATE, rash_trend=Trend.WORSE), day=2)]
    assert escalation.reasons[2] == old_rows[2]
    assert response.assessment_reasons == escalation.reasons
    assert reasons_with_messages(escalation.reasons) == old_rows

    CONVERSION.backwards(apps, None)

    escalation.refresh_from_db()
    assert escalation.reasons == old_rows
