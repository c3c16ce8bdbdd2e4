"""The one way in for every change to clinics, staff, patients and sessions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from patients.models import (
    Clinic,
    ClinicMembership,
    Patient,
    Product,
    ProductApplication,
    TreatmentSession,
)
from patients.selectors import user_clinic_ids

PATIENT_FIELDS = ("clinic", "first_name", "last_name", "email", "phone", "date_of_birth",
                  "known_allergies", "acne_prone", "notes")
SESSION_FIELDS = ("performed_at", "treatment_area", "device", "needle_depth_mm", "notes")


def _require_clinic_access(*, actor, clinic: Clinic, field: str = "clinic") -> None:
    if actor is not None and not actor.is_superuser and clinic.id not in user_clinic_ids(actor):
        raise ValidationError({field: "You can only write to clinics you belong to."})


def normalise_ingredients(names: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        cleaned = " ".join(str(name).split())
        if cleaned and cleaned.casefold() not in seen:
            seen[cleaned.casefold()] = cleaned
    return list(seen.values())


def clinic_create(*, name: str, timezone_name: str, phone: str = "", email: str = "",
                  send_hour: int = 10) -> Clinic:
    clinic = Clinic(name=name.strip(), timezone=timezone_name, phone=phone, email=email,
                    send_hour=send_hour)
    clinic.full_clean()
    try:
        with transaction.atomic():
            clinic.save()
    except IntegrityError:
        raise ValidationError({"name": f"A clinic named '{clinic.name}' already exists."}) from None
    return clinic


def staff_create(*, username: str, clinic: Clinic, password: str, email: str = "",
                 superuser: bool = False):
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": f"A user named '{username}' already exists."})
    with transaction.atomic():
        user = User(username=username, email=email, is_staff=True, is_superuser=superuser)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save()
        ClinicMembership.objects.create(user=user, clinic=clinic)
        if not superuser:
            from django.contrib.auth.models import Group

            group = Group.objects.filter(name="Clinic staff").first()
            if group is not None:
                user.groups.add(group)
    return user


def membership_add(*, user, clinic: Clinic) -> ClinicMembership:
    membership, _ = ClinicMembership.objects.get_or_create(user=user, clinic=clinic)
    return membership


def patient_create(*, actor, data: Mapping) -> Patient:
    clinic = data["clinic"]
    _require_clinic_access(actor=actor, clinic=clinic)
    patient = Patient(**{key: data[key] for key in PATIENT_FIELDS if key in data})
    patient.known_allergies = normalise_ingredients(patient.known_allergies or [])
    patient.full_clean()
    patient.save()
    return patient


def patient_update(*, actor, patient: Patient, data: Mapping) -> Patient:
    if "clinic" in data:
        _require_clinic_access(actor=actor, clinic=data["clinic"])
    for key in PATIENT_FIELDS:
        if key in data:
            setattr(patient, key, data[key])
    patient.known_allergies = normalise_ingredients(patient.known_allergies or [])
    patient.full_clean()
    patient.save()
    return patient


def product_create(*, name: str, kind: str, ingredients: Iterable[str]) -> Product:
    product = Product(name=name.strip(), kind=kind, ingredients=normalise_ingredients(ingredients))
    product.full_clean()
    product.save()
    return product


def product_update(*, product: Product, data: Mapping) -> Product:
    for key in ("name", "kind", "ingredients"):
        if key in data:
            setattr(product, key, data[key])
    product.ingredients = normalise_ingredients(product.ingredients or [])
    product.full_clean()
    product.save()
    return product


def _applications_replace(*, session: TreatmentSession, products: Iterable[Mapping],
                          new: bool = False) -> None:
    if not new:
        session.applications.all().delete()
    applications = [
        ProductApplication(session=session, product=item["product"], phase=item["phase"],
                           lot_number=str(item["lot_number"]).strip())
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
                   notes: str = "", products: Iterable[Mapping] = ()) -> TreatmentSession:
    """Record a session, its products and its day-2/day-7 check-ins, all or nothing."""
    from followups.services import checkins_schedule_for_session

    _require_clinic_access(actor=actor, clinic=patient.clinic, field="patient")
    if timezone.is_naive(performed_at):
        raise ValidationError({"performed_at": "Give a time zone offset, e.g. +01:00."})
    session = TreatmentSession(
        patient=patient, practitioner=practitioner, performed_at=performed_at,
        treatment_area=treatment_area, needle_depth_mm=needle_depth_mm, device=device,
        notes=notes,
    )
    # The patient and practitioner are objects already in hand, and the
    # table's constraints duplicate the field validators: skip both round trips.
    session.full_clean(exclude=["patient", "practitioner"], validate_constraints=False)
    session.save()
    _applications_replace(session=session, products=products, new=True)
    checkins_schedule_for_session(session=session)
    return session


@transaction.atomic
def session_update(*, actor, session: TreatmentSession, data: Mapping) -> TreatmentSession:
    from followups.services import checkins_reschedule_for_session

    session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
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
    from followups.services import checkins_cancel_for_session

    session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    if session.cancelled_at is None:
        session.cancelled_at = timezone.now()
        session.save(update_fields=["cancelled_at"])
    checkins_cancel_for_session(session=session)
    return session
