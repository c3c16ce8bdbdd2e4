"""The patients' and sessions' list filters: each parameter filters and is documented once."""

from __future__ import annotations

from django.db.models import Q
from django_filters import rest_framework as filters

from clinic.api_filters import IdFilter
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
