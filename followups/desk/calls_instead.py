"""The "Call instead" list in the admin: patients no message can reach, to be phoned."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from followups.consent.services import call_instead_done
from followups.desk.display import patient_link
from followups.models import CallInstead
from patients.admin_scoping import ClinicScopedAdminMixin


class OpenFilter(admin.SimpleListFilter):
    title = "call"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "To make"), ("no", "Done")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(done_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(done_at__isnull=False)
        return queryset


@admin.register(CallInstead)
class CallInsteadAdmin(ClinicScopedAdminMixin, admin.ModelAdmin):
    """Every member of a clinic sees its list and marks calls done: the safety net by phone."""

    clinic_lookup = "patient__clinic"
    list_display = ("patient_column", "phone_column", "checkin_column", "created_at", "done_at",
                    "done_by")
    list_filter = (OpenFilter,)
    list_select_related = ("patient", "checkin", "done_by")
    ordering = ("done_at", "created_at", "id")
    actions = ("mark_done",)
    fields = ("patient_column", "phone_column", "checkin_column", "created_at", "done_at",
              "done_by")
    readonly_fields = fields

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Patient", ordering="patient__last_name")
    def patient_column(self, obj):
        return patient_link(obj.patient)

    @admin.display(description="Phone")
    def phone_column(self, obj):
        return str(obj.patient.phone) if obj.patient.phone else "—"

    @admin.display(description="Check-in", ordering="checkin__due_at")
    def checkin_column(self, obj):
        return f"Day {obj.checkin.day}, due {obj.checkin.due_at:%Y-%m-%d %H:%M} UTC"

    @admin.action(description="Mark the selected calls done")
    def mark_done(self, request, queryset):
        done = 0
        for call in queryset:
            try:
                call_instead_done(call=call, actor=request.user)
                done += 1
            except ValidationError:
                continue
        self.message_user(request, f"{done} call(s) marked done.", messages.SUCCESS)
