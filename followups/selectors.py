"""Reads of check-ins and escalations: the patient's link, and staff lists scoped to clinics."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import (
    Case,
    CharField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.lists import listed
from followups.assessment.ingredients import (
    BRANDS,
    CLASSES,
    SYNONYMS,
    IngredientMatch,
    allergy_matches,
    allergy_pairs,
    names_a_substance,
)
from followups.assessment.rules import ESCALATION_LEVELS, Level
from followups.link.tokens import token_hash
from followups.models import CheckIn, CheckInResponse, Escalation
from patients.models import Patient, ProductApplication, TreatmentSession
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
    queryset = CheckIn.objects.select_related("session", "response").prefetch_related(
        "deliveries")
    if not user.is_superuser:
        # The denormalised clinic: the planner starts from one clinic's rows
        # (checkin_clinic_due) instead of walking every check-in by due time.
        queryset = queryset.filter(clinic_id__in=user_clinic_ids(user))
    return queryset


def escalations_for_user(user) -> QuerySet[Escalation]:
    queryset = Escalation.objects.select_related("patient")
    if not user.is_superuser:
        queryset = queryset.filter(clinic_id__in=user_clinic_ids(user))
    return queryset.order_by("-level_rank", "created_at", "id")


def with_open_escalation_level(queryset: QuerySet[Patient]) -> QuerySet[Patient]:
    """Annotate ``open_escalation_level``: the highest level not yet resolved.

    A subquery in the SELECT list, read from escalation_patient_open: computed
    for the rows of the page only. Filter with ``patients_with_open_level``.

    Acknowledged escalations still count: someone has seen them, but the
    patient is not yet looked after until the escalation is resolved.
    """
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


def patients_with_open_level(queryset: QuerySet[Patient], level: Level, *,
                             clinic_ids: Iterable[int] | None = None) -> QuerySet[Patient]:
    """The patients whose highest unresolved escalation is ``level`` (or who have none).

    Through the escalations' own index (escalation_patient_open): the
    unresolved escalations of that rank, less the patients with a higher one,
    as semi-joins. Never the per-patient annotation, which the database would
    compute for every patient to find the few that match. ``clinic_ids``: the
    clinics ``queryset`` is scoped to, so that the escalations read are theirs
    (their denormalised clinic) and not the whole network's.
    """
    unresolved = Escalation.objects.exclude(status=Escalation.Status.RESOLVED)
    if clinic_ids is not None:
        unresolved = unresolved.filter(clinic_id__in=clinic_ids)
    if level == Level.NONE:
        return queryset.exclude(pk__in=unresolved.values("patient_id"))
    rank = level.escalation_rank
    return (queryset.filter(pk__in=unresolved.filter(level_rank=rank).values("patient_id"))
            .exclude(pk__in=unresolved.filter(level_rank__gt=rank).values("patient_id")))


def patients_for_user(user) -> QuerySet[Patient]:
    queryset = Patient.objects.select_related("clinic")
    if not user.is_superuser:
        queryset = queryset.filter(clinic_id__in=user_clinic_ids(user))
    return with_open_escalation_level(queryset)


def sessions_for_user(user) -> QuerySet[TreatmentSession]:
    queryset = TreatmentSession.objects.select_related(
        "patient", "patient__clinic", "practitioner"
    ).prefetch_related(
        Prefetch("applications", queryset=ProductApplication.objects.select_related("product")),
        Prefetch("checkins", queryset=CheckIn.objects.select_related("response")
                 .prefetch_related("deliveries").order_by("day")),
    )
    if not user.is_superuser:
        queryset = queryset.filter(patient__clinic_id__in=user_clinic_ids(user))
    return queryset


def _substances(families) -> str:
    return listed([SYNONYMS[family][0] for family in families])


def _matched_because(pairs: list[IngredientMatch]) -> str:
    """"Lidocaine, which matches the patient's allergy 'lidocaína' (same substance: lidocaine)"."""
    allergies = listed([f"'{pair.allergy}'" for pair in pairs])
    said = (f"{pairs[0].ingredient}, which matches the patient's "
            f"{'allergy' if len(pairs) == 1 else 'allergies'} {allergies}")
    notes = []
    for pair in pairs:
        if pair.through is not None and pair.through in BRANDS:
            notes.append(f"{pair.through} contains {_substances(BRANDS[pair.through])}")
        elif pair.through is not None:
            notes.append(f"read as {pair.through}: {_substances(CLASSES[pair.through][1])}")
        elif pair.substances:
            notes.append(f"same substance: {_substances(pair.substances)}")
    unique = list(dict.fromkeys(notes))
    return f"{said} ({'; '.join(unique)})" if unique else said


def allergy_warning(*, allergies, product, lot_number: str, ingredients) -> dict | None:
    """The warning for one product line, or None: which allergy matched which ingredient.

    The one matcher of followups.assessment.ingredients.
    """
    matched = allergy_matches(allergies or [], ingredients or [])
    if not matched:
        return None
    pairs = allergy_pairs(allergies or [], matched)
    by_ingredient: dict[str, list[IngredientMatch]] = {}
    for pair in pairs:
        by_ingredient.setdefault(pair.ingredient, []).append(pair)
    parts = [_matched_because(found) for found in by_ingredient.values()]
    if len(parts) > 1:
        parts[-1] = f"and {parts[-1]}"
    return {
        "product": product.pk,
        "product_name": product.name,
        "lot_number": lot_number,
        "ingredients": matched,
        "matches": [{"allergy": pair.allergy, "ingredient": pair.ingredient}
                    for pair in pairs],
        "message": f"{product.name} contains {'; '.join(parts)}.",
    }


def allergies_unchecked(patient: Patient) -> list[str]:
    """The patient's recorded allergies that name no substance ("cream"): never matched.

    Recorded before such names were refused; shown to staff until corrected.
    """
    return [name for name in patient.known_allergies or [] if not names_a_substance(name)]


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
