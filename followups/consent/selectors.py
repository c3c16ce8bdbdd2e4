"""Reading the "Call instead" list, scoped to the clinics a user belongs to."""

from __future__ import annotations

from django.db.models import QuerySet

from followups.models import CallInstead
from patients.models import Patient
from patients.selectors import user_clinic_ids


def calls_instead_for_user(user) -> QuerySet[CallInstead]:
    queryset = CallInstead.objects.select_related("checkin", "patient")
    if not user.is_superuser:
        queryset = queryset.filter(patient__clinic_id__in=user_clinic_ids(user))
    return queryset.order_by("created_at", "id")


def calls_instead_open(*, clinic_ids: list[int] | None = None,
                       patient: Patient | None = None) -> QuerySet[CallInstead]:
    """The calls still to make (the dashboard: of some clinics; the patient page: theirs)."""
    queryset = CallInstead.objects.filter(done_at__isnull=True).select_related(
        "checkin", "patient")
    if clinic_ids is not None:
        queryset = queryset.filter(patient__clinic_id__in=clinic_ids)
    if patient is not None:
        queryset = queryset.filter(patient=patient)
    return queryset.order_by("created_at", "id")
