"""The check-ins' and escalations' list filters: each parameter filters and is documented once."""

from __future__ import annotations

from django.conf import settings
from django_filters import rest_framework as filters

from clinic.api_filters import IdFilter
from followups.models import ESCALATION_LEVEL_CHOICES, CheckIn, Escalation

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

    class Meta:
        model = Escalation
        fields = ["patient", "level", "status", "clinic"]
