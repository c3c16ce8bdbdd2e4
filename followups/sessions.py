"""Sessions, products and clinic settings: the changes that move check-ins or enter the audit trail.

A session's check-ins are created, moved and cancelled in the session's (or
its clinic's) own transaction, so these live with the follow-ups, above the
patients app they write to. The admin, the API and the commands call them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from followups.audit import audit_record
from followups.models import AuditEvent, CheckIn
from followups.services import (
    checkins_cancel_for_session,
    checkins_reschedule_for_session,
    checkins_schedule_for_session,
)
from patients.models import Clinic, Patient, Product, ProductApplication, TreatmentSession
from patients.services import (
    CLINIC_FIELDS,
    PRODUCT_FIELDS,
    SESSION_FIELDS,
    _require_catalogue_rights,
    _require_clinic_access,
    clinic_save,
    normalise_ingredients,
)


@transaction.atomic
def clinic_update(*, actor=None, clinic: Clinic, data: Mapping) -> Clinic:
    """Change a clinic's details (superusers only, when an actor is given).

    A new send hour or time zone moves the check-ins still waiting to go out
    (status scheduled) of the clinic's sessions that are not cancelled: each
    is due again at the new hour, local time, of the same day after its
    session, as if the session had been recorded under the new settings.
    Emails already sent keep their times, and so do their reminders and
    expiry, which count from the send. Done in this transaction: a sweep
    never sees the clinic's new hour beside a check-in at the old one.
    """
    if actor is not None and not (actor.is_active and actor.is_superuser):
        raise PermissionDenied("Only superusers change a clinic.")
    # Locked and read afresh: the admin's form has already written its values
    # onto the instance it passes in, so only the stored row says what changed.
    stored = Clinic.objects.select_for_update().get(pk=clinic.pk)
    before = (stored.timezone, stored.send_hour)
    for key in CLINIC_FIELDS:
        if key in data:
            setattr(stored, key, data[key])
    clinic_save(stored)
    if (stored.timezone, stored.send_hour) != before:
        _checkins_follow_clinic(clinic=stored)
    return stored


def _checkins_follow_clinic(*, clinic: Clinic) -> int:
    """Reschedule the waiting check-ins of the clinic's open sessions; how many moved.

    Driven from the scheduled check-ins (the status-and-due index), so the
    work grows with the sessions that still have one, not with the clinic's
    history.
    """
    waiting = CheckIn.objects.filter(
        status=CheckIn.Status.SCHEDULED, session__patient__clinic=clinic,
        session__cancelled_at__isnull=True,
    ).values("session_id")
    moved = 0
    for session in TreatmentSession.objects.filter(pk__in=waiting).select_related("patient"):
        session.patient.clinic = clinic  # the new hour and zone, without a read per session
        moved += checkins_reschedule_for_session(session=session)
    return moved


def _product_state(product: Product) -> dict:
    return {key: getattr(product, key) for key in PRODUCT_FIELDS}


def _product_audit(*, actor, product: Product, before: dict | None) -> None:
    # Operator commands (seed_demo) run without a user: nothing to attribute.
    if actor is None:
        return
    audit_record(actor=actor, action=AuditEvent.Action.CHANGE_PRODUCT,
                 target=f"Product #{product.pk} {product.name}",
                 changes={"before": before, "after": _product_state(product)})


@transaction.atomic
def product_create(*, name: str, kind: str, ingredients: Iterable[str], actor=None,
                   instance: Product | None = None) -> Product:
    """Add a catalogue product (catalogue managers only, when an actor is given); audited.

    ``instance``: an unsaved product to become the new row (the admin's form's).
    """
    _require_catalogue_rights(actor)
    product = instance if instance is not None else Product()
    product.name, product.kind = name.strip(), kind
    product.ingredients = normalise_ingredients(ingredients)
    product.full_clean()
    product.save()
    _product_audit(actor=actor, product=product, before=None)
    return product


@transaction.atomic
def product_update(*, product: Product, data: Mapping, actor=None) -> Product:
    """Change a catalogue product; audited with before and after.

    Sessions already saved keep the ingredients they recorded: nothing here
    touches them.
    """
    _require_catalogue_rights(actor)
    stored = Product.objects.select_for_update().get(pk=product.pk)
    before = _product_state(stored)
    for key in PRODUCT_FIELDS:
        if key in data:
            setattr(stored, key, data[key])
    stored.ingredients = normalise_ingredients(stored.ingredients or [])
    stored.full_clean()
    stored.save()
    if _product_state(stored) != before:
        _product_audit(actor=actor, product=stored, before=before)
    return stored


def _applications_replace(*, session: TreatmentSession, products: Iterable[Mapping],
                          new: bool = False) -> None:
    recorded: dict[int, list[str]] = {}
    if not new:
        # A product the session already listed keeps the ingredients recorded
        # then: editing the session never brings in today's catalogue for it.
        for product_id, ingredients in session.applications.values_list("product_id",
                                                                        "ingredients"):
            recorded.setdefault(product_id, ingredients)
        session.applications.all().delete()
    # Each new product's ingredients as they are now, recorded with the session.
    applications = [
        ProductApplication(session=session, product=item["product"], phase=item["phase"],
                           lot_number=str(item["lot_number"]).strip(),
                           ingredients=list(recorded.get(item["product"].pk,
                                                         item["product"].ingredients or [])))
        for item in products
    ]
    for index, application in enumerate(applications):
        try:
            # Field checks name the mistake; the table's constraints still hold.
            application.full_clean(exclude=["session", "product"], validate_constraints=False)
        except ValidationError as error:
            raise ValidationError({"products": {index: error.message_dict}}) from None
    ProductApplication.objects.bulk_create(applications)


@transaction.atomic
def session_create(*, actor, patient: Patient, practitioner, performed_at: datetime,
                   treatment_area: str, needle_depth_mm: Decimal, device: str = "",
                   notes: str = "", products: Iterable[Mapping] = (),
                   instance: TreatmentSession | None = None) -> TreatmentSession:
    """Record a session, its products and its day-2/day-7 check-ins, all or nothing.

    ``instance``: an unsaved session to become the new row (the admin's form's).
    """
    _require_clinic_access(actor=actor, clinic=patient.clinic, field="patient")
    if timezone.is_naive(performed_at):
        raise ValidationError({"performed_at": "Give a time zone offset, e.g. +01:00."})
    session = instance if instance is not None else TreatmentSession()
    session.patient, session.practitioner = patient, practitioner
    session.performed_at, session.treatment_area = performed_at, treatment_area
    session.needle_depth_mm, session.device, session.notes = needle_depth_mm, device, notes
    # The patient and practitioner are objects already in hand, and the
    # table's constraints duplicate the field validators: skip both round trips.
    session.full_clean(exclude=["patient", "practitioner"], validate_constraints=False)
    session.save()
    _applications_replace(session=session, products=products, new=True)
    checkins_schedule_for_session(session=session)
    return session


@transaction.atomic
def session_update(*, actor, session: TreatmentSession, data: Mapping) -> TreatmentSession:
    """Change a session; new products replace its list, a new time moves its check-ins."""
    session = TreatmentSession.objects.select_for_update().select_related("patient__clinic").get(
        pk=session.pk)
    _require_clinic_access(actor=actor, clinic=session.patient.clinic, field="session")
    if session.is_cancelled:
        raise ValidationError({"session": "A cancelled session cannot be changed."})
    if "patient" in data and data["patient"].pk != session.patient_id:
        raise ValidationError({"patient": "A session cannot be moved to another patient."})
    moved = "performed_at" in data and data["performed_at"] != session.performed_at
    for key in SESSION_FIELDS:
        if key in data:
            setattr(session, key, data[key])
    if "practitioner" in data:
        session.practitioner = data["practitioner"]
    session.full_clean()
    session.save()
    if "products" in data:
        _applications_replace(session=session, products=data["products"])
    if moved:
        checkins_reschedule_for_session(session=session)
    return session


@transaction.atomic
def session_cancel(*, actor, session: TreatmentSession) -> TreatmentSession:
    """Cancel a session and its open check-ins; answers already given are kept."""
    session = TreatmentSession.objects.select_for_update().select_related("patient__clinic").get(
        pk=session.pk)
    _require_clinic_access(actor=actor, clinic=session.patient.clinic, field="session")
    if session.cancelled_at is None:
        session.cancelled_at = timezone.now()
        session.save(update_fields=["cancelled_at"])
    checkins_cancel_for_session(session=session)
    return session
