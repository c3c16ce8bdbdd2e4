"""The list filters of the patients admin: a patient's open escalation, a session's state.

Their class names and ``parameter_name`` are what admin URLs carry
(``?open_level=urgent``, ``?state=cancelled``): keep them.
"""

from __future__ import annotations

from django.contrib import admin

from followups.assessment.rules import ESCALATION_LEVELS, Level
from followups.desk.filters import ProductFilter
from followups.selectors import patients_with_open_level
from patients.admin_scoping import clinic_ids_for


class OpenLevelFilter(admin.SimpleListFilter):
    title = "open escalation"
    parameter_name = "open_level"
    # A patient's open level is an escalation's (or none): most pressing first.
    LEVELS = (*reversed(ESCALATION_LEVELS), Level.NONE)

    def lookups(self, request, model_admin):
        return [(level.label, level.label.capitalize()) for level in self.LEVELS]

    def queryset(self, request, queryset):
        value = self.value()
        chosen = (None if value is None
                  else {level.label: level for level in self.LEVELS}.get(value))
        if chosen is not None:
            return patients_with_open_level(queryset, chosen,
                                            clinic_ids=clinic_ids_for(request))
        return queryset


class CancelledFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("cancelled", "Cancelled")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(cancelled_at__isnull=True)
        if self.value() == "cancelled":
            return queryset.filter(cancelled_at__isnull=False)
        return queryset


class SessionProductFilter(ProductFilter):
    session_path = "pk"
