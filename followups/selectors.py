"""Reads of check-ins and escalations, scoped to the user's clinics."""

from __future__ import annotations

from django.db.models import QuerySet

from followups.models import CheckIn, Escalation
from patients.selectors import user_clinic_ids


def checkins_for_user(user) -> QuerySet[CheckIn]:
    queryset = CheckIn.objects.select_related("session", "response")
    if not user.is_superuser:
        queryset = queryset.filter(session__patient__clinic_id__in=user_clinic_ids(user))
    return queryset


def escalations_for_user(user) -> QuerySet[Escalation]:
    queryset = Escalation.objects.select_related("patient")
    if not user.is_superuser:
        queryset = queryset.filter(patient__clinic_id__in=user_clinic_ids(user))
    return queryset.order_by("-level_rank", "created_at", "id")
