"""Reads of check-ins and escalations: the patient's link, and staff lists scoped to clinics."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from followups.models import CheckIn, CheckInResponse, Escalation
from followups.tokens import token_hash
from patients.models import ProductApplication, TreatmentSession
from patients.selectors import user_clinic_ids

# Where the link lookup leaves the session's answered check-ins, by day.
_ANSWERED = "answered_checkins"


def checkin_for_token(*, token: str, now: datetime | None = None) -> CheckIn | None:
    """The open check-in a live link points to, or None: unknown, expired, used alike.

    It comes with its session, patient and clinic, and with the session's
    answered check-ins (what the assessment compares a day-7 answer with):
    two queries, and none afterwards.
    """
    if not token or len(token) > 100:
        return None
    answered = (CheckIn.objects.filter(response__isnull=False).select_related("response")
                .order_by("day"))
    return (
        CheckIn.objects
        .filter(links__token_hash=token_hash(token), links__revoked_at__isnull=True,
                links__expires_at__gt=now or timezone.now(),
                status__in=CheckIn.OPEN_STATUSES, session__cancelled_at__isnull=True)
        .select_related("session__patient__clinic")
        .prefetch_related(Prefetch("session__checkins", queryset=answered, to_attr=_ANSWERED))
        .first()
    )


def checkin_earlier_responses(*, checkin: CheckIn) -> list[CheckInResponse]:
    """The answers to the session's check-ins before this one, the earliest first.

    Loaded with the check-in when it came from its link; read otherwise.
    """
    session: TreatmentSession = checkin.session
    answered = getattr(session, _ANSWERED, None)
    if answered is None:
        answered = (CheckIn.objects.filter(session=session, response__isnull=False)
                    .select_related("response").order_by("day"))
    return [earlier.response for earlier in answered if earlier.day < checkin.day]


def session_ingredients(*, session: TreatmentSession) -> list[str]:
    """The ingredients of every product applied in the session, in the order applied."""
    applications = (ProductApplication.objects.filter(session=session).order_by("id")
                    .values_list("product__ingredients", flat=True))
    return [name for ingredients in applications for name in ingredients or []]


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
