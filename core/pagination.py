"""Paginating long lists without counting every row: the admin's change lists, the API's."""

from __future__ import annotations

import binascii
import json
from base64 import b64decode, b64encode
from functools import cached_property, partial
from typing import Any, ClassVar, cast

from django.contrib.admin.views.main import PAGE_VAR
from django.core.paginator import Page, Paginator
from django.db.models import Q
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


class CappedCountPaginator(Paginator):
    """A paginator that counts only as far as a few pages past the one shown.

    The change list asks for a count on every load. A plain COUNT(*) over a
    network's check-ins, or over every patient named Martin, reads every
    matching row each time the list opens: work that grows with the network.
    We count at most ``pages_ahead`` pages past the page asked for instead
    (``SELECT COUNT(*) FROM (SELECT id ... LIMIT n)``): exact for a short
    list, the same bounded work on page 1 of any list however long, which
    then reads "more than 1,100" and offers its next ten pages; each page
    further counts a page further, as OFFSET already reads that far. Chosen
    over PostgreSQL's planner estimate (``pg_class.reltuples``) because that
    is only known for a whole table, not for a filtered list, and does not
    exist on SQLite. ModelAdmins get it from ``CappedCountAdminMixin``, which
    also sets ``show_full_result_count = False`` so Django does not add a
    second, unfiltered count.
    """

    pages_ahead = 10

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True,
                 *, page: int = 1):
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.count_cap = (max(1, page) + self.pages_ahead) * int(self.per_page)
        self.count_is_capped = False

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if not hasattr(object_list, "order_by"):
            return len(object_list)
        counted = object_list.order_by().values("pk")[: self.count_cap + 1].count()
        self.count_is_capped = counted > self.count_cap
        return min(counted, self.count_cap)


class KeysFirstPaginator(CappedCountPaginator):
    """A capped paginator that reads a page's keys first, then the page's rows by key.

    For a list whose order no index can give (the escalation queue: call-backs
    that have come due first, a condition on the current time), PostgreSQL
    sorts every matching row to find a page. Sorting the whole rows (their
    reasons, the joined patient and check-in) spilled to disk at 24,000
    unresolved flags; sorting only the keys and the order's columns stays in
    memory, and the page's 50 rows are then read whole by primary key, in
    the same order.
    """

    def _get_page(self, object_list, number, paginator):
        # Django's hook for the page's object: ``object_list`` is the change list's
        # queryset already sliced to the page by Paginator.page.
        keys = list(object_list.values_list("pk", flat=True))
        queryset: Any = self.object_list
        rows = {row.pk: row for row in queryset.filter(pk__in=keys)}
        return Page([rows[key] for key in keys if key in rows], number, paginator)


class CappedCountAdminMixin:
    """A change list counted only a few pages past the page shown (``CappedCountPaginator``)."""

    paginator: ClassVar[type[CappedCountPaginator]] = CappedCountPaginator
    show_full_result_count = False

    def get_paginator(self, request, queryset, per_page, orphans=0,
                      allow_empty_first_page=True):
        try:
            page = int(request.GET.get(PAGE_VAR, 1))
        except ValueError:
            page = 1  # the change list itself answers a page that is not a number
        return self.paginator(queryset, per_page, orphans, allow_empty_first_page, page=page)


class CappedCountPagination(PageNumberPagination):
    """The API's page-numbered lists, counted only ten pages past the page asked for.

    ``count`` is given where it is cheap (``../shared/interface.md``): when
    the list ends within those pages. Past them it is left out, ``next`` is
    there, and clients follow it. ``?page=last`` counts the whole list, as it
    must to find its last page.
    """

    def paginate_queryset(self, queryset, request, view=None):
        asked = request.query_params.get(self.page_query_param, "1")
        if asked in self.last_page_strings:
            self.django_paginator_class = Paginator
        else:
            page = int(asked) if asked.isdigit() else 1
            self.django_paginator_class = cast(  # a class, given the page it counts from
                type[Paginator], partial(CappedCountPaginator, page=page))
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        assert self.page is not None  # paginate_queryset ran
        body = {"next": self.get_next_link(), "previous": self.get_previous_link(),
                "results": data}
        if not getattr(self.page.paginator, "count_is_capped", False):
            body = {"count": self.page.paginator.count, **body}
        return Response(body)

    def get_paginated_response_schema(self, schema):
        described = super().get_paginated_response_schema(schema)
        described["required"] = ["results"]
        described["properties"]["count"]["description"] = (
            "Given when the list ends within ten pages of this one.")
        return described


class KeysetCursorPagination(CursorPagination):
    """DRF's cursor pagination, keyed on the whole ordering instead of its first field.

    DRF's ``CursorPagination`` positions on the first ordering field and skips
    rows sharing its value with an OFFSET, capped at ``offset_cutoff``: where
    thousands of check-ins fall due at one clinic's send hour, a page deep in
    that run would repeat rows. Here the cursor holds the last row's value of
    every ordering field (the last one unique, ``id``), and the next page is a
    row comparison on them: ``(due_at, id) > (…, …)``, spelt as an OR of
    equalities so that mixed directions (``-level_rank, created_at, id``)
    work too. Each page reads ``page_size + 1`` rows from the list's index,
    whatever its depth; no COUNT. Clients follow ``next`` and ``previous``
    (opaque ``?cursor=`` links); a cursor that cannot be read is a 404, as a
    page past the end.

    The view's ``get_queryset`` gives the order (``queryset.query.order_by``),
    ending with a unique field; ``ordering`` here is only the fallback.
    """

    ordering = ("id",)

    def get_ordering(self, request, queryset, view):
        return tuple(queryset.query.order_by) or self.ordering

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.keyset = self._decode(request)
        reverse = bool(self.keyset and self.keyset["reverse"])
        order = [self._flip(field) for field in self.ordering] if reverse else list(self.ordering)
        queryset = queryset.order_by(*order)
        if self.keyset is not None:
            queryset = queryset.filter(self._after(order, self.keyset["values"]))
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        self.page = rows[: self.page_size]
        if reverse:
            self.page.reverse()
        self.has_next = more if not reverse else True
        self.has_previous = (self.keyset is not None) if not reverse else more
        if reverse and not self.page:
            self.has_next = False
        return self.page

    # Cursor encoding: the ordering fields' values of the row to continue from.

    @staticmethod
    def _flip(field: str) -> str:
        return field[1:] if field.startswith("-") else f"-{field}"

    def _values(self, row) -> list:
        values = []
        for field in self.ordering:
            value = getattr(row, field.lstrip("-"))
            values.append(value.isoformat() if hasattr(value, "isoformat") else value)
        return values

    def _after(self, order: list[str], values: list) -> Q:
        condition = Q(pk__in=[])
        for position, field in enumerate(order):
            name = field.lstrip("-")
            step = Q(**{f"{name}__{'lt' if field.startswith('-') else 'gt'}": values[position]})
            for earlier, value in zip(order[:position], values[:position], strict=True):
                step &= Q(**{earlier.lstrip("-"): value})
            condition |= step
        # The first field's bound on its own too (implied by the OR): a range the
        # index scan starts from, instead of reading every row before the cursor.
        first = order[0]
        bound = Q(**{f"{first.lstrip('-')}__{'lte' if first.startswith('-') else 'gte'}":
                     values[0]})
        return bound & condition

    def _decode(self, request) -> dict | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            cursor = json.loads(b64decode(encoded.encode("ascii"), validate=True))
            if (not isinstance(cursor, dict) or not isinstance(cursor.get("values"), list)
                    or len(cursor["values"]) != len(self.ordering)):
                raise ValueError("a cursor names every ordering field")
            return {"values": cursor["values"], "reverse": bool(cursor.get("reverse"))}
        except (ValueError, UnicodeError, binascii.Error):
            raise NotFound(self.invalid_cursor_message) from None

    def _link(self, row, *, reverse: bool) -> str:
        assert self.base_url is not None  # set by paginate_queryset
        encoded = b64encode(json.dumps({"values": self._values(row), "reverse": reverse},
                                       separators=(",", ":")).encode()).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def get_next_link(self):
        if not self.has_next or not self.page:
            return None
        return self._link(self.page[-1], reverse=False)

    def get_previous_link(self):
        if not self.has_previous or not self.page:
            return None
        return self._link(self.page[0], reverse=True)

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(),
                         "results": data})
