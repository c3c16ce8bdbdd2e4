"""Clinics, their staff, patients, products and microneedling sessions."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q

from core.validators import no_control_characters
from patients.phones import (
    PhoneField,
    clinic_phone_normalise,
    on_call_phone_check,
    phone_check_for_contact,
    phone_normalise,
)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not an IANA time zone, e.g. Europe/London.")


def validate_needle_depth(value) -> None:
    if value is not None and not (Decimal("0") < value <= Decimal("3.0")):
        raise ValidationError("Needle depth must be more than 0 and at most 3.0 mm.")


# Free text has a length, here in the model, so the admin, the API and the
# services all refuse what does not fit, naming the field. A TextField's
# max_length alone sizes the form's widget and the API's field; its validator
# is what the model's own checks (full_clean, in every service) apply.
NOTES_MAX_LENGTH = 10_000
MAX_INGREDIENTS = 100
MAX_INGREDIENT_LENGTH = 100


def validate_ingredient_list(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip()
                                              for item in value):
        raise ValidationError("Must be a list of ingredient names.")
    if len(value) > MAX_INGREDIENTS:
        raise ValidationError(f"At most {MAX_INGREDIENTS} ingredient names.")
    if any(len(item) > MAX_INGREDIENT_LENGTH for item in value):
        raise ValidationError(f"Each ingredient name has at most {MAX_INGREDIENT_LENGTH} "
                              "characters.")


class Language(models.TextChoices):
    """The languages a patient's emails and check-in pages are written in."""

    ENGLISH = "en", "English"
    FRENCH = "fr", "French"
    SPANISH = "es", "Spanish"


def _clean_fields_with(instance: models.Model, normalise, *, exclude) -> None:
    """The model's field checks, after reading its phone numbers in the clinic's country."""
    errors: dict = {}
    try:
        normalise(instance)
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    try:
        models.Model.clean_fields(instance, exclude=exclude)
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


class ContactBy(models.TextChoices):
    """How a patient's check-ins reach them: the channels of followups.delivery.channels."""

    EMAIL = "email", "Email"
    SMS = "sms", "Text message"
    EMAIL_AND_SMS = "email_and_sms", "Email and text message"

    @classmethod
    def channels(cls, value: str) -> tuple[str, ...]:
        return {"email": ("email",), "sms": ("sms",),
                "email_and_sms": ("email", "sms")}.get(value, ("email",))


# The countries whose numbers a clinic's patients give without a country code
# are read in (ISO 3166-1 alpha-2); any other country's number is given with
# its +code.
COUNTRY_CHOICES = [("GB", "United Kingdom"), ("IE", "Ireland"), ("FR", "France"),
                   ("BE", "Belgium"), ("CH", "Switzerland"), ("LU", "Luxembourg"),
                   ("ES", "Spain"), ("PT", "Portugal"), ("IT", "Italy"), ("DE", "Germany"),
                   ("NL", "Netherlands"), ("US", "United States"), ("CA", "Canada"),
                   ("MX", "Mexico"), ("AR", "Argentina"), ("CO", "Colombia"),
                   ("AU", "Australia"), ("NZ", "New Zealand")]


class Clinic(models.Model):
    name = models.CharField(max_length=200, unique=True, validators=[no_control_characters])
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True, help_text="Receives urgent alerts.")
    send_hour = models.PositiveSmallIntegerField(
        default=10, help_text="Local hour (0-23) at which check-in emails go out."
    )
    default_language = models.CharField(
        max_length=2, choices=Language.choices, default=Language.ENGLISH,
        help_text="New patients get their check-ins in this language unless another is chosen.",
    )
    country = models.CharField(
        max_length=2, choices=COUNTRY_CHOICES, default="GB", db_default="GB",
        help_text="Phone numbers given without a country code are read as this country's.",
    )
    default_contact_by = models.CharField(
        max_length=13, choices=ContactBy.choices, default=ContactBy.EMAIL,
        db_default=ContactBy.EMAIL,
        help_text="How new patients' check-ins reach them unless another way is chosen.",
    )
    # A second channel for urgent flags: texted when one stays unacknowledged
    # (followups.escalations.on_call). Only superusers change it.
    on_call_phone = PhoneField(
        null=True, blank=True,
        help_text="Mobile number texted when an urgent flag is not acknowledged in time.",
    )
    on_call_rota = models.TextField(
        blank=True, db_default="", default="", max_length=2000,
        validators=[MaxLengthValidator(2000)],
        help_text="Who carries the on-call phone when, e.g. 'Mon-Fri 8-18: Amal; nights: Sam'.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="ClinicMembership", related_name="clinics"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(default_contact_by__in=ContactBy.values),
                                   name="clinic_default_contact_by_valid"),
            models.CheckConstraint(condition=Q(send_hour__lte=23), name="clinic_send_hour_0_23"),
            models.CheckConstraint(condition=~Q(timezone=""), name="clinic_timezone_not_empty"),
            models.CheckConstraint(condition=~Q(name=""), name="clinic_name_not_empty"),
            models.CheckConstraint(condition=Q(default_language__in=Language.values),
                                   name="clinic_default_language_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean_fields(self, exclude=None) -> None:
        _clean_fields_with(self, clinic_phone_normalise, exclude=exclude)

    def clean(self) -> None:
        super().clean()
        on_call_phone_check(self)


class ClinicMembership(models.Model):
    # No index of its own: membership_unique (clinic, user) serves it.
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships",
                               db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clinic_memberships"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A clinic manager also erases patients and manages the clinic's webhooks.
    is_manager = models.BooleanField(
        default=False, db_default=False,
        help_text="Managers may erase a patient's record and manage the clinic's webhooks.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.clinic}"


class Patient(models.Model):
    # No index of its own: patient_clinic_name (clinic, last_name) serves it.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients",
                               db_index=False)
    first_name = models.CharField(max_length=100, validators=[no_control_characters])
    last_name = models.CharField(max_length=100, validators=[no_control_characters])
    email = models.EmailField()
    # E.164 once parsed (read in the clinic's country); a value stored before
    # numbers were parsed that could not be is kept as it was, and flagged
    # (``phone_needs_check``) for staff to correct.
    phone = PhoneField(blank=True)
    contact_by = models.CharField(
        max_length=13, choices=ContactBy.choices, default=ContactBy.EMAIL,
        db_default=ContactBy.EMAIL,
        help_text="How check-ins reach the patient (new patients: the clinic's default).",
    )
    # Opting out of a channel: when and how (the unsubscribe link, a STOP
    # reply, staff); each change is in the audit trail too. Opted out of
    # every channel, the patient is put on the "Call instead" list.
    email_opted_out_at = models.DateTimeField(null=True, blank=True)
    email_opted_out_how = models.CharField(max_length=40, blank=True, db_default="", default="")
    sms_opted_out_at = models.DateTimeField(null=True, blank=True)
    sms_opted_out_how = models.CharField(max_length=40, blank=True, db_default="", default="")
    date_of_birth = models.DateField(null=True, blank=True)
    known_allergies = models.JSONField(
        default=list, blank=True, validators=[validate_ingredient_list],
        help_text="Ingredient names the patient reacts to, e.g. lidocaine.",
    )
    acne_prone = models.BooleanField(default=False)
    language = models.CharField(
        max_length=2, choices=Language.choices, default=Language.ENGLISH,
        help_text="The check-in emails and pages are written in this language.",
    )
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH,
                             validators=[MaxLengthValidator(NOTES_MAX_LENGTH)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["clinic", "last_name"], name="patient_clinic_name"),
            # The lists' order (Meta.ordering): a page of patients network-wide
            # is read from this index, not sorted from the whole table.
            models.Index(fields=["last_name", "first_name", "id"], name="patient_ordering"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(first_name=""), name="patient_first_name_set"),
            models.CheckConstraint(condition=~Q(email=""), name="patient_email_set"),
            models.CheckConstraint(condition=Q(language__in=Language.values),
                                   name="patient_language_valid"),
            models.CheckConstraint(condition=Q(contact_by__in=ContactBy.values),
                                   name="patient_contact_by_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def phone_needs_check(self) -> bool:
        """A number kept as it was given because it could not be read as a number."""
        return bool(self.phone) and not self.phone.is_valid()

    def opted_out_at(self, channel: str):
        return {"email": self.email_opted_out_at, "sms": self.sms_opted_out_at}.get(channel)

    def clean_fields(self, exclude=None) -> None:
        _clean_fields_with(self, phone_normalise, exclude=exclude)

    def clean(self) -> None:
        super().clean()
        phone_check_for_contact(self)


class ProductKind(models.TextChoices):
    NUMBING_CREAM = "numbing_cream", "Numbing cream"
    SERUM = "serum", "Serum"
    GROWTH_FACTOR = "growth_factor", "Growth factor"
    HYALURONIC_ACID = "hyaluronic_acid", "Hyaluronic acid"
    OTHER = "other", "Other"


class Product(models.Model):
    """The shared catalogue: read by every clinic, changed only by its managers (audited)."""

    Kind = ProductKind

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    ingredients = models.JSONField(default=list, blank=True,
                                   validators=[validate_ingredient_list])

    class Meta:
        ordering = ["name"]
        permissions = [
            ("manage_catalogue", "Can change the shared product catalogue"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ProductKind.values),
                                   name="product_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class TreatmentSession(models.Model):
    """One microneedling session; its day-2 and day-7 check-ins hang off it."""

    MAX_NEEDLE_DEPTH_MM = Decimal("3.0")

    # No index of its own: session_patient_time (patient, performed_at) serves it.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="sessions",
                                db_index=False)
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sessions_performed"
    )
    performed_at = models.DateTimeField()
    treatment_area = models.CharField(max_length=100)
    device = models.CharField(max_length=100, blank=True)
    needle_depth_mm = models.DecimalField(max_digits=3, decimal_places=2,
                                          validators=[validate_needle_depth])
    notes = models.TextField(blank=True, max_length=NOTES_MAX_LENGTH,
                             validators=[MaxLengthValidator(NOTES_MAX_LENGTH)])
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    products = models.ManyToManyField(Product, through="ProductApplication",
                                      related_name="sessions")

    class Meta:
        ordering = ["-performed_at", "-id"]
        indexes = [models.Index(fields=["patient", "performed_at"], name="session_patient_time")]
        constraints = [
            models.CheckConstraint(
                condition=Q(needle_depth_mm__gt=0) & Q(needle_depth_mm__lte=Decimal("3.0")),
                name="session_needle_depth_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Session #{self.pk} on {self.performed_at:%Y-%m-%d}"

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class ApplicationPhase(models.TextChoices):
    # Labelled as the API spells the values (pre/during/post): one vocabulary.
    PRE = "pre", "Pre"
    DURING = "during", "During"
    POST = "post", "Post"


class ProductApplication(models.Model):
    Phase = ApplicationPhase

    session = models.ForeignKey(TreatmentSession, on_delete=models.CASCADE,
                                related_name="applications")
    # No index of its own: application_lot (product, lot_number) serves it.
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="applications",
                                db_index=False)
    phase = models.CharField(max_length=10, choices=Phase.choices)
    lot_number = models.CharField(max_length=64)
    # The product's ingredients as they were when the session was saved: the
    # allergy warning and the ALLERGY rule read these, so a later change to
    # the catalogue never rewrites what a past session used.
    ingredients = models.JSONField(default=list, blank=True, editable=False,
                                   validators=[validate_ingredient_list])

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["product", "lot_number"], name="application_lot")]
        constraints = [
            models.CheckConstraint(condition=Q(phase__in=ApplicationPhase.values),
                                   name="application_phase_valid"),
            models.CheckConstraint(condition=~Q(lot_number=""), name="application_lot_set"),
        ]

    def __str__(self) -> str:
        return f"{self.product} (lot {self.lot_number})"
