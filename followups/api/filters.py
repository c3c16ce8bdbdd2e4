"""The API's list filters: each parameter filters its list and is documented, once.

drf-spectacular reads these FilterSets for the OpenAPI document; a bad value
is a 400 naming the parameter (core.api_filters.FilterBackend).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q
from django_filters import rest_framework as filters

from core.api_filters import IdFilter
from followups.models import ESCALATION_LEVEL_CHOICES, CheckIn, Escalation
from patients.models import Patient, TreatmentSession


class PatientFilter(filters.FilterSet):
    clinic = IdFilter(field_name="clinic", label="Only this clinic's patients.")
    # The form field trims it, and refuses a NUL character (PostgreSQL cannot compare one): a 400.
    search = filters.CharFilter(method="filter_search",
                                label="Part of the first name, last name or email.")

    class Meta:
        model = Patient
        fields = ["clinic", "search"]

    def filter_search(self, queryset, name, value: str):
        return queryset.filter(Q(first_name__icontains=value) | Q(last_name__icontains=value)
                               | Q(email__icontains=value))


class SessionFilter(filters.FilterSet):
    patient = IdFilter(field_name="patient", label="Only this patient's sessions.")
    clinic = IdFilter(field_name="patient__clinic", label="Only this clinic's sessions.")

    class Meta:
        model = TreatmentSession
        fields = ["patient", "clinic"]

# The days a check-in can have: day 2 and day 7, and the watch check-in's day (10).
CHECKIN_DAY_CHOICES = [
    *((day, f"Day {day}") for day in settings.CHECKIN_DAYS),
    (settings.CHECKIN_WATCH_DAY, f"Day {settings.CHECKIN_WATCH_DAY} (the watch check-in)"),
]


class CheckInFilter(filters.FilterSet):
    patient = IdFilter(field_name="session__patient", label="Only this patient's check-ins.")
    session = IdFilter(field_name="session", label="Only this session's check-ins.")
    day = filters.ChoiceFilter(choices=CHECKIN_DAY_CHOICES,
                               label="Only check-ins of this day.")
    status = filters.ChoiceFilter(choices=CheckIn.Status.choices,
                                  label="Only check-ins in this status.")

    class Meta:
        model = CheckIn
        fields = ["patient", "session", "day", "status"]


class EscalationFilter(filters.FilterSet):
    patient = IdFilter(field_name="patient", label="Only this patient's escalations.")
    level = filters.ChoiceFilter(choices=ESCALATION_LEVEL_CHOICES,
                                 label="Only escalations of this level.")
    status = filters.ChoiceFilter(choices=Escalation.Status.choices,
                                  label="Only escalations in this status.")
    clinic = IdFilter(field_name="patient__clinic",
                      label="Only escalations of this clinic's patients.")
    assigned_to = IdFilter(field_name="assigned_to",
                           label="Only escalations assigned to this user (\"Mine\").")

    class Meta:
        model = Escalation
        fields = ["patient", "level", "status", "clinic", "assigned_to"]
