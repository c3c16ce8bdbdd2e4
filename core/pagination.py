"""Paginating the admin's long lists without counting every row: plumbing the admins import."""

from __future__ import annotations

from functools import cached_property

from django.core.paginator import Paginator


class CappedCountPaginator(Paginator):
    """A paginator that never counts more than ``count_cap`` rows.

    The change list asks for a count on every load. With 100,000 patients a
    plain COUNT(*) over the queue's rows is a scan of the table each time a
    nurse opens it. We count at most ``count_cap + 1`` rows instead
    (``SELECT COUNT(*) FROM (SELECT id ... LIMIT 10001)``): exact for every
    list a person pages through, bounded work on a huge one, which then reads
    "more than 10,000" and is narrowed with filters or search. Chosen over
    PostgreSQL's planner estimate (``pg_class.reltuples``) because that is
    only known for a whole table, not for a filtered list, and does not exist
    on SQLite. ModelAdmins using it also set ``show_full_result_count = False``
    so Django does not add a second, unfiltered count.
    """

    count_cap = 10_000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.count_is_capped = False

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if not hasattr(object_list, "order_by"):
            return len(object_list)
        counted = object_list.order_by().values("pk")[: self.count_cap + 1].count()
        self.count_is_capped = counted > self.count_cap
        return min(counted, self.count_cap)
