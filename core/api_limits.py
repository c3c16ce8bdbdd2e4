"""What the API reads is bounded before it is looked at.

Plumbing (imports no app). The body's size is checked from its headers by
``core.middleware.ApiBodyLimitMiddleware`` before a byte is read; here, the
JSON's nesting before it is parsed, and each list's length before any item is
validated (a product id is a database lookup): one request of 100,000
products held a worker until gunicorn killed it, and 5,000 nested brackets
were a RecursionError (a 500). Each refusal is a 400 naming the field or the
problem.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.utils import json

# A JSON string (escapes and all), or a bracket outside one.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def json_nesting_exceeds(text: str, limit: int) -> bool:
    """Whether brackets in ``text`` open deeper than ``limit``, read without recursion.

    Brackets inside strings are skipped; a malformed document is left for the
    JSON parser to refuse.
    """
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing a document nested deeper than ``API_MAX_JSON_DEPTH``.

    The API's own documents nest three deep (a session, its products, one
    product); Python's parser recurses once per level and gives up near a
    thousand, with an error DRF does not expect.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise ParseError(f"JSON parse error - {error}") from None
        limit = settings.API_MAX_JSON_DEPTH
        if json_nesting_exceeds(text, limit):
            raise ParseError(f"JSON nested too deep: at most {limit} levels of lists and "
                             "objects.")
        try:
            return json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None


class _FieldCountRefused:
    """A form with more fields or files than Django reads (DATA_UPLOAD_MAX_NUMBER_FIELDS,
    _FILES) is a 400 saying so as the API does, not Django's bare page and a traceback."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)  # type: ignore[misc]
        except TooManyFieldsSent:
            raise ParseError(f"Too many form fields: at most "
                             f"{settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}.") from None
        except TooManyFilesSent:
            raise ParseError(f"Too many files: at most "
                             f"{settings.DATA_UPLOAD_MAX_NUMBER_FILES}.") from None


class BoundedFormParser(_FieldCountRefused, FormParser):
    pass


class BoundedMultiPartParser(_FieldCountRefused, MultiPartParser):
    pass


def _too_long(field, data) -> bool:
    return (isinstance(data, list) and field.max_length is not None
            and len(data) > field.max_length)


class BoundedListField(serializers.ListField):
    """A ListField whose ``max_length`` is checked before its items, not after."""

    def to_internal_value(self, data):
        if _too_long(self, data):
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class BoundedListSerializer(serializers.ListSerializer):
    """A list of serializers (``many=True``) whose ``max_length`` is refused with its own
    message (``error_messages["max_length"]``), as a list naming the field."""

    max_length: int | None  # DRF's, which its stubs leave out

    def to_internal_value(self, data):
        if _too_long(self, data):
            raise serializers.ValidationError(
                self.error_messages["max_length"].format(max_length=self.max_length),
                code="max_length")
        return super().to_internal_value(data)
