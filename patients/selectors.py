"""Reads, always scoped to the clinics a user belongs to."""

from __future__ import annotations

from django.db.models import Case, CharField, OuterRef, Prefetch, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from patients.models import (
    Clinic,
    ClinicMembership,
    Patient,
    ProductApplication,
    TreatmentSession,
)


def user_clinic_ids(user) -> frozenset[int]:
    """Ids of the user's clinics, cached on the user object for the request."""
    cached = getattr(user, "_clinic_ids_cache", None)
    if cached is None:
        if not getattr(user, "is_authenticated", False):
            cached = frozenset()
        elif user.is_superuser:
            cached = frozenset(Clinic.objects.values_list("id", flat=True))
        else:
            cached = frozenset(ClinicMembership.objects.filter(user_id=user.pk)
                               .values_list("clinic_id", flat=True))
        user._clinic_ids_cache = cached
    return cached


def clinics_for_user(user) -> QuerySet[Clinic]:
    if user.is_superuser:
        return Clinic.objects.all()
    return Clinic.objects.filter(id__in=user_clinic_ids(user))


def with_open_escalation_level(queryset: QuerySet[Patient]) -> QuerySet[Patient]:
    """Annotate ``open_escalation_level``: the highest level not yet resolved.

    Acknowledged escalations still count: someone has seen them, but the
    patient is not yet looked after until the escalation is resolved.
    """
    from followups.models import Escalation
    from followups.rules import Level

    highest = (
        Escalation.objects.filter(patient=OuterRef("pk"))
        .exclude(status=Escalation.Status.RESOLVED)
        .order_by("-level_rank")
        .values("level_rank")[:1]
    )
    return queryset.annotate(
        open_escalation_rank=Coalesce(Subquery(highest), Value(int(Level.NONE))),
        open_escalation_level=Case(
            *[When(open_escalation_rank=int(level), then=Value(level.label))
              for level in Level if level > Level.NONE],
            default=Value(Level.NONE.label),
            output_field=CharField(),
        ),
    )


def patients_for_user(user) -> QuerySet[Patient]:
    queryset = Patient.objects.select_related("clinic")
    if not user.is_superuser:
        queryset = queryset.filter(clinic_id__in=user_clinic_ids(user))
    return with_open_escalation_level(queryset)


def sessions_for_user(user) -> QuerySet[TreatmentSession]:
    from followups.models import CheckIn

    queryset = TreatmentSession.objects.select_related(
        "patient", "patient__clinic", "practitioner"
    ).prefetch_related(
        Prefetch("applications", queryset=ProductApplication.objects.select_related("product")),
        Prefetch("checkins", queryset=CheckIn.objects.select_related("response").order_by("day")),
    )
    if not user.is_superuser:
        queryset = queryset.filter(patient__clinic_id__in=user_clinic_ids(user))
    return queryset


def session_allergy_warnings(session: TreatmentSession) -> list[dict]:
    """Products of the session that contain an ingredient the patient reacts to.

    Source: RASH document — "inform your practitioner about any known allergies
    or sensitivities before the procedure"; BREAKOUT document — allergic
    reactions to numbing creams or serums.
    """
    from followups.rules import allergy_matches

    allergies = session.patient.known_allergies or []
    warnings = []
    for application in session.applications.all():
        matched = allergy_matches(allergies, application.product.ingredients or [])
        if matched:
            warnings.append(
                {
                    "product": application.product_id,
                    "product_name": application.product.name,
                    "lot_number": application.lot_number,
                    "ingredients": matched,
                    "message": (
                        f"{application.product.name} contains {', '.join(matched)}, "
                        "listed in the patient's known allergies."
                    ),
                }
            )
    return warnings
