"""Field validators the apps share (plumbing: imports no app).

Names are printed into emails' headers and bodies, CSV exports and pages: a
carriage return or line feed in a clinic's name once broke every email of
that clinic. Control characters (Unicode category Cc: CR, LF, NUL, tab, the
C1 range…) and the line and paragraph separators are refused wherever a name
is written — commands, admin, API — with an error that names the field.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

_SEPARATORS = {"\u2028", "\u2029", "\u0085"}


def has_control_characters(value: str) -> bool:
    return any(unicodedata.category(char) == "Cc" or char in _SEPARATORS for char in value)


@deconstructible
class NoControlCharactersValidator:
    message = "Control characters (such as line breaks, tabs or NUL) are not allowed here."
    code = "control_characters"

    def __call__(self, value) -> None:
        if isinstance(value, str) and has_control_characters(value):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other) -> bool:
        return isinstance(other, NoControlCharactersValidator)

    def __hash__(self) -> int:
        return hash(self.code)


no_control_characters = NoControlCharactersValidator()
