"""The one way in for every change to clinics, staff and patients (sessions: followups.sessions).

The admin, the API and the management commands all call these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

# The one upward call: a session's check-ins are created, moved and cancelled
# in the session's (or its clinic's) own transaction, by the follow-ups app.
from patients.models import (
    Clinic,
    ClinicMembership,
    Patient,
)
from patients.selectors import user_clinic_ids

# The group of the data migration (0002_clinic_staff_group): what a clinic's
# nurse or practitioner may do in the admin.
STAFF_GROUP = "Clinic staff"
CLINIC_FIELDS = ("name", "timezone", "phone", "email", "send_hour", "default_language",
                 "country", "default_contact_by", "on_call_phone", "on_call_rota")

PATIENT_FIELDS = ("clinic", "first_name", "last_name", "email", "phone", "contact_by",
                  "date_of_birth", "known_allergies", "acne_prone", "language", "notes")
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
                  send_hour: int = 10, default_language: str = "en",
                  instance: Clinic | None = None) -> Clinic:
    """A clinic; ``instance``: an unsaved clinic to become the new row (the admin's form's)."""
    clinic = instance if instance is not None else Clinic()
    clinic.name, clinic.timezone, clinic.phone, clinic.email = (
        name.strip(), timezone_name, phone, email)
    clinic.send_hour, clinic.default_language = send_hour, default_language
    clinic_save(clinic)
    return clinic


def clinic_save(clinic: Clinic) -> None:
    """Validate and store a clinic; a name another clinic has is refused, naming it."""
    clinic.name = clinic.name.strip()
    clinic.full_clean()
    try:
        with transaction.atomic():
            clinic.save()
    except IntegrityError:
        raise ValidationError({"name": f"A clinic named '{clinic.name}' already exists."}) from None


@transaction.atomic
def staff_create(*, username: str, clinic: Clinic | None, password: str | None,
                 email: str = "", superuser: bool = False, instance=None):
    """A staff user (one who signs in to the admin), a member of ``clinic``.

    Staff who are not superusers join the "Clinic staff" group, which grants
    the clinic's workflow. ``password=None`` makes a user who cannot sign in
    with a password. ``clinic=None`` makes one who belongs to no clinic yet:
    ``membership_add`` adds them to clinics (the admin does, from its form).
    ``instance``: an unsaved user to become the new row (the admin's form's).
    """
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": f"A user named '{username}' already exists."})
    user = instance if instance is not None else User()
    user.username, user.email = username, email
    user.is_staff, user.is_superuser = True, superuser
    if password is None:
        user.set_unusable_password()
    else:
        # The password rules (AUTH_PASSWORD_VALIDATORS), for every way a user is made.
        try:
            password_validation.validate_password(password, user)
        except ValidationError as error:
            raise ValidationError({"password": error.messages}) from None
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    if clinic is not None:
        ClinicMembership.objects.create(user=user, clinic=clinic)
    if not superuser:
        group = Group.objects.filter(name=STAFF_GROUP).first()
        if group is not None:
            user.groups.add(group)
    return user


def membership_add(*, user, clinic: Clinic) -> ClinicMembership:
    membership, _ = ClinicMembership.objects.get_or_create(user=user, clinic=clinic)
    return membership


def membership_manager_set(*, user, clinic: Clinic, manager: bool) -> ClinicMembership:
    """Make ``user`` a manager of ``clinic`` (or no longer one); they become a member if not."""
    membership = membership_add(user=user, clinic=clinic)
    if membership.is_manager != manager:
        membership.is_manager = manager
        membership.save(update_fields=["is_manager"])
    return membership


def patient_create(*, actor, data: Mapping, instance: Patient | None = None) -> Patient:
    """A patient; ``instance``: an unsaved patient to become the new row (the admin's form's)."""
    clinic = data["clinic"]
    _require_clinic_access(actor=actor, clinic=clinic)
    patient = instance if instance is not None else Patient()
    for key in PATIENT_FIELDS:
        if key in data:
            setattr(patient, key, data[key])
    if not data.get("language"):
        # Not chosen for this patient: the clinic's own language.
        patient.language = clinic.default_language
    if not data.get("contact_by"):
        # Likewise the clinic's own way of reaching its patients.
        patient.contact_by = clinic.default_contact_by
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


PRODUCT_FIELDS = ("name", "kind", "ingredients")
CATALOGUE_PERMISSION = "patients.manage_catalogue"


def catalogue_may_change(user) -> bool:
    """Superusers and catalogue managers change the shared catalogue; clinic staff read it.

    One clinic's edit would change every clinic's allergy warnings, so it is
    not a clinic's staff's to make.
    """
    return bool(user is not None and user.is_active
                and (user.is_superuser or user.has_perm(CATALOGUE_PERMISSION)))


def _require_catalogue_rights(actor) -> None:
    if actor is not None and not catalogue_may_change(actor):
        raise PermissionDenied("Only catalogue managers change the product catalogue.")


