"""Words looked for in what left the product: emails, log lines, the broker's contents."""

from __future__ import annotations

import re
from collections.abc import Iterable


def find_words(texts: Iterable[str], words: Iterable[str]) -> list[tuple[str, str]]:
    """(word, excerpt) for each word found in the texts, matched as a whole word.

    Letters on either side make it another word ("crash" is not "rash"), but an
    underscore or a digit does not ("SEVERE_RASH" counts).
    """
    patterns = {word: re.compile(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", re.IGNORECASE)
                for word in words}
    found = []
    for text in texts:
        for word, pattern in patterns.items():
            match = pattern.search(text)
            if match:
                start = max(match.start() - 60, 0)
                found.append((word, text[start:match.end() + 60]))
    return found
