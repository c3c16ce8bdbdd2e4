"""Query-string filters for list endpoints: a bad value is a 400 naming it."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError


def filter_by_params(request, queryset, spec: dict[str, tuple[str, Callable[[str], object]]]):
    """Apply ``?name=value`` filters; ``spec`` maps a parameter to (lookup, parser)."""
    for param, (lookup, parse) in spec.items():
        raw = request.query_params.get(param)
        if raw is None or raw == "":
            continue
        try:
            value = parse(raw)
        except (TypeError, ValueError):
            raise ValidationError({param: f"'{raw}' is not a valid value."}) from None
        queryset = queryset.filter(**{lookup: value})
    return queryset


def choice(*allowed: str):
    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(raw)
        return raw
    return parse


# Ids are 64-bit: a larger number is no id at all, and the database drivers
# raise OverflowError (a 500) if it reaches a query.
MAX_ID = 2**63 - 1


def positive_int(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= MAX_ID:
        raise ValueError(raw)
    return value


def search_term(request, param: str = "search") -> str:
    """The ``?search=`` text, trimmed; one PostgreSQL cannot compare is a 400."""
    term = request.query_params.get(param, "").strip()
    if "\x00" in term:
        raise ValidationError({param: "The search text cannot contain a NUL character."})
    return term


def id_filter(name: str, description: str) -> OpenApiParameter:
    """An ``?name=<id>`` list filter as the OpenAPI document shows it."""
    return OpenApiParameter(name, OpenApiTypes.INT, description=description)
