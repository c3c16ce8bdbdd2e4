"""Factories for the domain: a clinic, its staff, patients, sessions, answers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from followups.models import CheckIn, CheckInResponse
from patients.models import (
    Clinic,
    ClinicMembership,
    Patient,
    Product,
    ProductApplication,
    TreatmentSession,
)

NORMAL_ANSWERS = {
    "rash": "mild", "rash_trend": "better", "breakouts": "none", "breakouts_trend": "",
    "itching": "none", "swelling": "mild", "pain": "none",
    "fever": False, "pus": False, "hives": False, "comments": "",
}


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic

    name = factory.Sequence(lambda n: f"Clinic {n}")
    timezone = "Europe/London"
    phone = "+44 20 7946 0000"
    email = factory.Sequence(lambda n: f"alerts{n}@clinic.example")
    send_hour = 10


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@clinic.example")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def clinics(self, create, extracted, **kwargs):
        for clinic in extracted or ():
            ClinicMembership.objects.create(user=self, clinic=clinic)
        if create:
            self.save()


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    first_name = factory.Sequence(lambda n: f"Ada{n}")
    last_name = factory.Sequence(lambda n: f"Lovelace{n}")
    email = factory.Sequence(lambda n: f"patient{n}@mail.example")
    # No mobile: reached by email alone unless a test gives one (and chooses texts).
    phone = ""
    known_allergies = factory.LazyFunction(list)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Serum {n}")
    kind = Product.Kind.SERUM
    ingredients = factory.LazyFunction(lambda: ["hyaluronic acid", "glycerin"])


class SessionFactory(factory.django.DjangoModelFactory):
    """A session created directly; use ``session_with_checkins`` for the real path."""

    class Meta:
        model = TreatmentSession

    patient = factory.SubFactory(PatientFactory)
    practitioner = factory.SubFactory(UserFactory)
    performed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=2))
    treatment_area = "face"
    device = "Dermapen 4"
    needle_depth_mm = Decimal("0.50")


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductApplication

    session = factory.SubFactory(SessionFactory)
    product = factory.SubFactory(ProductFactory)
    phase = "during"
    lot_number = factory.Sequence(lambda n: f"LOT-{n:05d}")


def session_with_checkins(*, patient=None, practitioner=None, performed_at=None,
                          products=()) -> TreatmentSession:
    """A session recorded through the service, as the API and admin do.

    Performed three days ago unless ``performed_at`` says otherwise: its day-2
    check-in has fallen due (at the clinic's send hour, yesterday at the
    latest) whatever the hour, so it can be sent and answered.
    """
    from followups.sessions import session_create

    patient = patient or PatientFactory()
    practitioner = practitioner or UserFactory(clinics=[patient.clinic])
    return session_create(
        actor=None, patient=patient, practitioner=practitioner,
        performed_at=performed_at or timezone.now() - timedelta(days=3),
        treatment_area="face", needle_depth_mm=Decimal("0.5"), device="Dermapen 4",
        products=products,
    )


def response_for(checkin: CheckIn, **answers) -> CheckInResponse:
    """Record answers through the service (the patient's channel by default)."""
    from followups.services import response_record

    channel = answers.pop("channel", CheckInResponse.Channel.PATIENT_LINK)
    return response_record(checkin=checkin, answers={**NORMAL_ANSWERS, **answers},
                           channel=channel)
