"""What a user may read of patients' records, scoped to their clinics, for FHIR and the export."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from followups.models import CheckInResponse, Escalation
from patients.models import Patient, ProductApplication, TreatmentSession
from patients.selectors import user_clinic_ids


def _scoped(queryset: QuerySet, user, path: str) -> QuerySet:
    if user.is_superuser:
        return queryset
    return queryset.filter(**{f"{path}__in": user_clinic_ids(user)})


def record_patients(*, user) -> QuerySet[Patient]:
    return _scoped(Patient.objects.select_related("clinic", "erasure"), user, "clinic_id")


def record_sessions(*, user) -> QuerySet[TreatmentSession]:
    return _scoped(TreatmentSession.objects.prefetch_related(
        Prefetch("applications", queryset=ProductApplication.objects.select_related("product"))
    ), user, "patient__clinic_id").order_by("performed_at", "id")


def record_responses(*, user) -> QuerySet[CheckInResponse]:
    return _scoped(CheckInResponse.objects.select_related("checkin__session"), user,
                   "checkin__session__patient__clinic_id").order_by("submitted_at", "id")


def record_escalations(*, user) -> QuerySet[Escalation]:
    return _scoped(Escalation.objects.all(), user, "patient__clinic_id").order_by(
        "created_at", "id")
