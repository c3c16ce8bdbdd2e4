"""Reads of check-ins and escalations: the patient's link, and staff lists scoped to clinics."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from followups.models import CheckIn, CheckInResponse, Escalation
from followups.rules import Level
from followups.tokens import token_hash
from patients.models import ProductApplication, TreatmentSession
from patients.selectors import user_clinic_ids


def checkin_for_token(*, token: str, now: datetime | None = None) -> CheckIn | None:
    """The open check-in a live link points to, or None: unknown, expired, used alike.

    One query, with its session, patient and clinic. The session's earlier
    answers are read apart (``checkin_earlier_responses``), and only by an
    assessment that compares with them (``rules.previous_needed``).
    """
    if not token or len(token) > 100:
        return None
    # At most one row (token_hash is unique): no ordering to compile or sort,
    # which first() would add.
    found = list(
        CheckIn.objects
        .filter(links__token_hash=token_hash(token), links__revoked_at__isnull=True,
                links__expires_at__gt=now or timezone.now(),
                status__in=CheckIn.OPEN_STATUSES, session__cancelled_at__isnull=True)
        .select_related("session__patient__clinic")
        .order_by()[:1]
    )
    return found[0] if found else None


def checkin_earlier_responses(*, checkin: CheckIn) -> list[CheckInResponse]:
    """The answers to the session's check-ins before this one, the earliest first."""
    return list(CheckInResponse.objects.filter(checkin__session_id=checkin.session_id,
                                               checkin__day__lt=checkin.day)
                .order_by("checkin__day"))


def session_ingredients(*, session: TreatmentSession) -> list[str]:
    """The ingredients of every product applied in the session, in the order applied.

    As recorded when the session was saved (``ProductApplication.ingredients``),
    never the catalogue's today: a later edit of a product rewrites no past session.
    """
    applications = (ProductApplication.objects.filter(session=session).order_by("id")
                    .values_list("ingredients", flat=True))
    return [name for ingredients in applications for name in ingredients or []]


def undelivered_alerts_q() -> Q:
    """Urgent escalations whose alert email was given up on: nobody was emailed."""
    return (Q(level=Level.URGENT.label, alert_sent_at__isnull=True, next_action_at__isnull=True)
            & ~Q(last_error=""))


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
