"""The list filters of the patients admin: a patient's open escalation, a session's state.

Their class names and ``parameter_name`` are what admin URLs carry
(``?open_level=urgent``, ``?state=cancelled``): keep them.
"""

from __future__ import annotations

from django.contrib import admin

from followups.admin_filters import ProductFilter


class OpenLevelFilter(admin.SimpleListFilter):
    title = "open escalation"
    parameter_name = "open_level"
    RANKS = {"urgent": 2, "review": 1, "none": 0}

    def lookups(self, request, model_admin):
        return [("urgent", "Urgent"), ("review", "Review"), ("none", "None")]

    def queryset(self, request, queryset):
        if self.value() in self.RANKS:
            return queryset.filter(open_escalation_rank=self.RANKS[self.value()])
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
