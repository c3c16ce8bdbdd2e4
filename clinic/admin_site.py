"""The admin site staff work in: its home page is the clinic's dashboard."""

from __future__ import annotations

from functools import cached_property, wraps
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.core.paginator import Paginator
from django.urls import path
from django.utils import timezone


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


def clinic_timezone_name(user) -> str | None:
    """The time zone of the user's first clinic, cached on the user for the request."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_clinic_timezone_cache"):
        from patients.models import Clinic

        user._clinic_timezone_cache = (
            Clinic.objects.filter(memberships__user=user)
            .order_by("name").values_list("timezone", flat=True).first()
        )
    return user._clinic_timezone_cache


class ClinicAdminSite(admin.AdminSite):
    site_header = "Aftercare desk"
    site_title = "Aftercare desk"
    index_title = "Today at your clinic"
    site_url = None  # no public site to go back to: "/" serves only patients' links
    # The queue and the patient's page need the width more than a menu does.
    enable_nav_sidebar = False

    def admin_view(self, view, cacheable=False):
        """Every admin page in the clinic's local time.

        A nurse in London types and reads session times in London time, not
        in the server's UTC. The response is rendered inside the override:
        a TemplateResponse would otherwise render after we return, in UTC.
        """
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def in_clinic_time(request, *args, **kwargs):
            name = clinic_timezone_name(request.user)
            if not name:
                return inner(request, *args, **kwargs)
            with timezone.override(ZoneInfo(name)):
                response = inner(request, *args, **kwargs)
                if getattr(response, "is_rendered", True) is False:
                    response.render()
            return response

        return in_clinic_time

    def get_urls(self):
        from followups import admin_views

        return [
            path("exports/", self.admin_view(admin_views.ExportView.as_view(site=self)),
                 name="exports"),
            *super().get_urls(),
        ]

    def index(self, request, extra_context=None):
        from followups.dashboard import dashboard_for_user

        extra_context = {
            **(extra_context or {}),
            "dashboard": dashboard_for_user(request.user, now=timezone.now()),
        }
        return super().index(request, extra_context)
