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
    from followups.rules import ESCALATION_LEVELS, Level

    highest = (
        Escalation.objects.filter(patient=OuterRef("pk"))
        .exclude(status=Escalation.Status.RESOLVED)
        .order_by("-level_rank")
        .values("level_rank")[:1]
    )
    return queryset.annotate(
        open_escalation_rank=Coalesce(Subquery(highest), Value(Level.NONE.escalation_rank)),
        open_escalation_level=Case(
            *[When(open_escalation_rank=level.escalation_rank, then=Value(level.label))
              for level in ESCALATION_LEVELS],
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


def allergy_warning(*, allergies, product, lot_number: str, ingredients) -> dict | None:
    """The warning for one product line, or None: the one matcher of followups.ingredients."""
    from followups.ingredients import allergy_matches

    matched = allergy_matches(allergies or [], ingredients or [])
    if not matched:
        return None
    return {
        "product": product.pk,
        "product_name": product.name,
        "lot_number": lot_number,
        "ingredients": matched,
        "message": (
            f"{product.name} contains {', '.join(matched)}, "
            "which matches the patient's known allergies or sensitivities "
            f"({', '.join(allergies)})."
        ),
    }


def session_allergy_warnings(session: TreatmentSession) -> list[dict]:
    """Products of the session that contain an ingredient the patient reacts to.

    Read from the ingredients recorded when the session was saved, never the
    catalogue's today. Source: RASH document — "inform your practitioner about
    any known allergies or sensitivities before the procedure"; BREAKOUT
    document — allergic reactions to numbing creams or serums.
    """
    allergies = session.patient.known_allergies or []
    if not allergies:
        return []
    warnings = []
    for application in session.applications.all():
        warning = allergy_warning(allergies=allergies, product=application.product,
                                  lot_number=application.lot_number,
                                  ingredients=application.ingredients)
        if warning:
            warnings.append(warning)
    return warnings


def planned_allergy_warnings(*, patient: Patient, products) -> list[dict]:
    """The warnings a session would carry, before it is saved (as products are chosen).

    ``products``: mappings with ``product`` and optionally ``lot_number``, as
    the API and the admin's form give them; read against the catalogue's
    ingredients now, which are what saving would record.
    """
    allergies = patient.known_allergies or []
    if not allergies:
        return []
    warnings = []
    for item in products:
        product = item["product"]
        warning = allergy_warning(allergies=allergies, product=product,
                                  lot_number=str(item.get("lot_number") or ""),
                                  ingredients=product.ingredients)
        if warning:
            warnings.append(warning)
    return warnings
