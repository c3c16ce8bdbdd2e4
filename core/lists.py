"""A list in a sentence, written the active language's way (plumbing: imports no app)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import pgettext


def listed(items: Sequence[str]) -> str:
    """``a``; ``a and b``; ``a, b and c`` — with the active language's word for "and"."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    # Translators: the word joining the last two items of a list, "a, b and c".
    return pgettext("joining the last two items of a list", "{items} and {last}").format(
        items=", ".join(items[:-1]), last=items[-1])
