"""What staff read for a reason: its message, written from the code and parameters stored.

The rules (``followups.assessment.rules``) return each reason as a code, its
parameters and its source, no prose; the queue, the patient's page, the
API's ``message`` and the exports all write the message here, from the same
code, in the active language (staff pages and the API are English; every
message has its French and Spanish, which ``tests/i18n`` checks).

A reason stored before reasons had parameters (``{code, message, source}``)
and that the data migration could not read back
(``0011_reasons_as_codes_and_parameters``) keeps the English message it was
stored with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from django.utils.translation import gettext, pgettext, pgettext_lazy

from core.lists import listed

logger = logging.getLogger(__name__)

Params = Mapping[str, object]

_RATINGS = {
    "none": pgettext_lazy("a symptom's rating, in a message for staff", "none"),
    "mild": pgettext_lazy("a symptom's rating, in a message for staff", "mild"),
    "moderate": pgettext_lazy("a symptom's rating, in a message for staff", "moderate"),
    "severe": pgettext_lazy("a symptom's rating, in a message for staff", "severe"),
    "very_severe": pgettext_lazy("a symptom's rating, in a message for staff", "very severe"),
}

_SYMPTOMS = {
    "hives": pgettext_lazy("a symptom, in a message for staff", "hives"),
    "rash": pgettext_lazy("a symptom, in a message for staff", "rash"),
    "itching": pgettext_lazy("a symptom, in a message for staff", "itching"),
    "swelling": pgettext_lazy("a symptom, in a message for staff", "swelling"),
    "breakouts": pgettext_lazy("a symptom, in a message for staff", "breakouts"),
}


def _rating(value: object) -> str:
    return str(_RATINGS[str(value)])


def _names(value: object) -> list[str]:
    """A list parameter (comment entries, symptoms, ingredients) as strings."""
    if not isinstance(value, list | tuple):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return [str(item) for item in value]


def _quoted(words: object) -> str:
    # Translators: a word or phrase of the patient's comment, quoted in a message for staff.
    quote = pgettext("a word of the patient's comment, quoted for staff", '"{word}"')
    return ", ".join(quote.format(word=word) for word in _names(words))


def _fever(p: Params) -> str:
    return gettext("Fever reported at the day-{day} check-in").format(day=p["day"])


def _pus(p: Params) -> str:
    return gettext("Pus or discharge reported at the day-{day} check-in").format(day=p["day"])


def _severe_pain(p: Params) -> str:
    return gettext("Pain rated {rating} at the day-{day} check-in").format(
        rating=_rating(p["rating"]), day=p["day"])


def _severe_rash(p: Params) -> str:
    return gettext("Rash rated {rating} at the day-{day} check-in").format(
        rating=_rating(p["rating"]), day=p["day"])


def _severe_swelling(p: Params) -> str:
    if p.get("with_hives"):
        text = gettext("Hives with swelling rated {rating} at the day-{day} check-in: possibly "
                       "the start of a severe allergic reaction")
    else:
        text = gettext("Swelling rated {rating} at the day-{day} check-in")
    return text.format(rating=_rating(p["rating"]), day=p["day"])


def _comment_concern(p: Params) -> str:
    if p.get("emergency"):
        text = gettext("The patient's comment at the day-{day} check-in mentions {words} "
                       "(breathing, swallowing, throat or tongue: urgent)")
    else:
        text = gettext("The patient's comment at the day-{day} check-in mentions {words}")
    return text.format(day=p["day"], words=_quoted(p["words"]))


def _rash_persists(p: Params) -> str:
    return gettext("Rash still present (rated {rating}) at the day-{day} check-in").format(
        rating=_rating(p["rating"]), day=p["day"])


def _rash_worsening(p: Params) -> str:
    if p.get("previous_rating") is None:
        text = gettext("Rash reported as getting worse (rated {rating}) at the day-{day} "
                       "check-in")
    elif p.get("said_worse"):
        text = gettext("Rash rated {rating} at the day-{day} check-in, up from {previous} at "
                       "the previous check-in, and reported as getting worse")
    else:
        text = gettext("Rash rated {rating} at the day-{day} check-in, up from {previous} at "
                       "the previous check-in")
    return _worsening(text, p)


def _rash_lingering(p: Params) -> str:
    return gettext("Mild rash still present, not getting worse, at the day-{day} check-in: "
                   "checked again later").format(day=p["day"])


def _breakouts_persist(p: Params) -> str:
    return gettext("Breakouts still present (rated {rating}) and not improving at the "
                   "day-{day} check-in").format(rating=_rating(p["rating"]), day=p["day"])


def _breakouts_worsening(p: Params) -> str:
    if p.get("previous_rating") is None:
        text = gettext("Breakouts reported as getting worse (rated {rating}) at the day-{day} "
                       "check-in")
    elif p.get("said_worse"):
        text = gettext("Breakouts rated {rating} at the day-{day} check-in, up from {previous} "
                       "at the previous check-in, and reported as getting worse")
    else:
        text = gettext("Breakouts rated {rating} at the day-{day} check-in, up from {previous} "
                       "at the previous check-in")
    return _worsening(text, p)


def _worsening(text: str, p: Params) -> str:
    previous = p.get("previous_rating")
    return text.format(rating=_rating(p["rating"]), day=p["day"],
                       previous=_rating(previous) if previous is not None else "")


def _breakouts_severe(p: Params) -> str:
    return gettext("Breakouts rated {rating} at the day-{day} check-in").format(
        rating=_rating(p["rating"]), day=p["day"])


def _breakouts_lingering(p: Params) -> str:
    return gettext("Breakouts rated {rating}, not getting worse, at the day-{day} check-in: "
                   "checked again later").format(rating=_rating(p["rating"]), day=p["day"])


def _swelling(p: Params) -> str:
    if p.get("still_present"):
        text = gettext("Swelling still present (rated {rating}) at the day-{day} check-in")
    else:
        text = gettext("Swelling rated {rating} at the day-{day} check-in")
    return text.format(rating=_rating(p["rating"]), day=p["day"])


def _swelling_lingering(p: Params) -> str:
    return gettext("Mild swelling still present at the day-{day} check-in: checked again "
                   "later").format(day=p["day"])


def _allergy(p: Params) -> str:
    symptoms = listed([str(_SYMPTOMS[name]) for name in _names(p["symptoms"])])
    ingredients = ", ".join(_names(p.get("ingredients") or []))
    if ingredients:
        text = gettext("{symptoms} reported at the day-{day} check-in; the session used "
                       "{ingredients}, which the patient is known to react to")
    else:
        text = gettext("{symptoms} reported at the day-{day} check-in")
    message = text.format(symptoms=symptoms, day=p["day"], ingredients=ingredients)
    return message[:1].upper() + message[1:]


def _no_response(p: Params) -> str:
    if p.get("cause") == "undelivered":
        return gettext("Could not reach the patient: the day-{day} check-in email could not be "
                       "delivered ({why}). Phone them, and check their email address").format(
            day=p["day"], why=p["why"])
    if p.get("cause") == "not_sent":
        return gettext("No check-in could be sent: the day-{day} check-in was still unsent "
                       "{late_hours} hours after its due time (a session recorded late, or an "
                       "outage), and no later check-in follows. Phone the patient").format(
            day=p["day"], late_hours=p["late_hours"])
    return gettext("Day-{day} check-in not answered {hours} hours after it was sent, despite a "
                   "reminder").format(day=p["day"], hours=f"{p['hours']:g}")


_WRITERS: Mapping[str, Callable[[Params], str]] = {
    "FEVER": _fever,
    "PUS": _pus,
    "SEVERE_PAIN": _severe_pain,
    "SEVERE_RASH": _severe_rash,
    "SEVERE_SWELLING": _severe_swelling,
    "COMMENT_CONCERN": _comment_concern,
    "RASH_PERSISTS": _rash_persists,
    "RASH_WORSENING": _rash_worsening,
    "RASH_LINGERING": _rash_lingering,
    "BREAKOUTS_PERSIST": _breakouts_persist,
    "BREAKOUTS_WORSENING": _breakouts_worsening,
    "BREAKOUTS_SEVERE": _breakouts_severe,
    "BREAKOUTS_LINGERING": _breakouts_lingering,
    "SWELLING": _swelling,
    "SWELLING_LINGERING": _swelling_lingering,
    "ALLERGY": _allergy,
    "NO_RESPONSE": _no_response,
}
WRITTEN_CODES = frozenset(_WRITERS)


def reason_message(reason: Mapping[str, object]) -> str:
    """A stored reason's message, in the active language.

    A reason without parameters was stored before they existed: its stored
    English message is the one there is.
    """
    params = reason.get("params")
    writer = _WRITERS.get(str(reason.get("code")))
    if not isinstance(params, Mapping) or writer is None:
        return str(reason.get("message") or reason.get("code") or "")
    try:
        return writer(params)
    except (KeyError, TypeError, ValueError):
        # Parameters the rules never wrote: the code, rather than a broken queue page.
        logger.error("a stored reason has parameters its message cannot be written from")
        return str(reason.get("message") or reason.get("code"))


def reasons_with_messages(reasons: Iterable[Mapping[str, object]]) -> list[dict[str, str]]:
    """Stored reasons as staff and the API read them: ``{code, message, source}`` each."""
    return [{"code": str(reason.get("code", "")), "message": reason_message(reason),
             "source": str(reason.get("source", ""))} for reason in reasons]
