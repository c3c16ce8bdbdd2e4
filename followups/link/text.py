"""The rules' patient texts in the patient's language, translated at the edge.

``followups.assessment.rules`` is pure and writes its guidance in English; its texts are
data here. A whole text is a msgid of the catalogue (locale/); the few that
the rules build from parts ("You told us that … and …", "… on day 10") are
matched by shape and translated part by part, so that a translation reads as
one sentence in its language instead of English words in a foreign frame.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext, gettext_noop, pgettext

# Composed texts: (their shape in English, the catalogue's msgid for it).
_TOLD_US = re.compile(r"You told us that (?P<items>.+)\.")
_STILL_NORMAL = re.compile(r"(?P<told>You told us that .+\.) This can still be part of "
                           r"normal healing\.")
_SHAPES = (
    (re.compile(r"Thank you\. We will check on you again on day (?P<day>\d+)"),
     gettext_noop("Thank you. We will check on you again on day {day}")),
    (re.compile(r"We will check on you again on day (?P<day>\d+)\. Contact your clinic "
                r"sooner if it gets worse\."),
     gettext_noop("We will check on you again on day {day}. Contact your clinic sooner if it "
                  "gets worse.")),
)
_LIST_SEPARATOR = re.compile(r", | and ")


def patient_text(text: str) -> str:
    """``text``, one of the rules' patient texts, in the active language."""
    translated = gettext(text)
    if translated != text:
        return translated
    if match := _STILL_NORMAL.fullmatch(text):
        return gettext("{told} This can still be part of normal healing.").format(
            told=patient_text(match["told"]))
    if match := _TOLD_US.fullmatch(text):
        items = [gettext(item) for item in _LIST_SEPARATOR.split(match["items"])]
        return gettext("You told us that {items}.").format(items=_listed(items))
    for shape, msgid in _SHAPES:
        if match := shape.fullmatch(text):
            return gettext(msgid).format(**match.groupdict())
    return translated


def _listed(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    # Translators: the word joining the last two items of a list, "a, b and c".
    return pgettext("joining the last two items of a list", "{items} and {last}").format(
        items=", ".join(items[:-1]), last=items[-1])
