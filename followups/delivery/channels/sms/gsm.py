"""How many SMS segments a text takes: GSM 03.38's 7-bit alphabet, or UCS-2.

A text whose every character is in the GSM 7-bit default alphabet (or its
extension table, two septets each) fits 160 septets in one segment, 153 per
segment once split; one character outside it (ç, á, í, ó, ú, ê, an emoji)
sends the whole text as UCS-2: 70 characters, 67 per segment once split.
"""

from __future__ import annotations

import math

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def gsm7_length(text: str) -> int:
    """Septets the text takes in the 7-bit alphabet (an extension character takes two)."""
    return sum(2 if char in GSM7_EXTENSION else 1 for char in text)


def segments(text: str) -> int:
    if is_gsm7(text):
        length = gsm7_length(text)
        return 1 if length <= 160 else math.ceil(length / 153)
    # UCS-2 counts UTF-16 code units (an emoji takes two).
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)
