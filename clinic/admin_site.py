"""The admin site staff work in: its home page is the clinic's dashboard.

Wiring: it reaches into the apps (the dashboard, the export page, a user's
clinic), always inside a function, and no app imports it (Django loads it
through ``clinic.apps.ClinicAdminConfig``).
"""

from __future__ import annotations

from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.urls import path
from django.utils import timezone


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
    # Username, password and the authenticator's code in one form (accounts.forms).
    login_template = "otp/login.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        from accounts.forms import StaffLoginForm

        self.login_form = StaffLoginForm

    def has_permission(self, request):
        """Active staff, and with OTP_REQUIRED only once the session gave its second factor."""
        from accounts.otp import otp_required

        if not super().has_permission(request):
            return False
        return not otp_required() or request.user.is_verified()

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
        from accounts.views import enroll_view
        from followups.desk import views as admin_views

        return [
            path("otp/enroll/", enroll_view(self), name="otp_enroll"),
            path("exports/", self.admin_view(admin_views.ExportView.as_view(site=self)),
                 name="exports"),
            path("exports/<int:export_id>/",
                 self.admin_view(admin_views.ExportStatusView.as_view(site=self)),
                 name="export"),
            path("exports/<int:export_id>/download/",
                 self.admin_view(admin_views.export_download), name="export_download"),
            *super().get_urls(),
        ]

    def index(self, request, extra_context=None):
        from followups.desk.dashboard import dashboard_for_user

        extra_context = {
            **(extra_context or {}),
            "dashboard": dashboard_for_user(request.user, now=timezone.now()),
        }
        return super().index(request, extra_context)
