"""Builders for admin tests: the staff group, photos, answers, a clinic's worth of data."""

from __future__ import annotations

import importlib
import io
from dataclasses import dataclass, field

from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from followups.audit import audit_record
from followups.escalations.clusters import escalation_clusters_process
from followups.models import (
    AuditEvent,
    CheckIn,
    CheckInResponse,
    ClusterSignal,
    Escalation,
)
from followups.services import response_record
from followups.webhooks.models import Webhook, WebhookDelivery
from patients.models import Product, ProductApplication
from tests.factories import NORMAL_ANSWERS, PatientFactory, ProductFactory, session_with_checkins

staff_group_migration = importlib.import_module("patients.migrations.0002_clinic_staff_group")


def ensure_clinic_staff_group() -> Group:
    """The group the data migration made (a transactional test's flush may have removed it)."""
    from django.apps import apps

    group = Group.objects.filter(name=staff_group_migration.GROUP_NAME).first()
    return group or staff_group_migration.clinic_staff_group_sync(apps)


def jpeg_upload(colour=(200, 120, 120)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 32), colour).save(buffer, "JPEG")
    return SimpleUploadedFile("photo.jpg", buffer.getvalue(), content_type="image/jpeg")


def answer(checkin, *, photo=None, **answers) -> CheckInResponse:
    """Answers recorded through the service, as the patient's link does."""
    return response_record(checkin=checkin, answers={**NORMAL_ANSWERS, **answers},
                           channel=CheckInResponse.Channel.PATIENT_LINK, photo=photo)


@dataclass
class World:
    """One clinic's data for every model the admin shows."""

    clinic: object
    practitioner: object
    product: Product
    patients: list = field(default_factory=list)
    sessions: list = field(default_factory=list)
    objects: dict = field(default_factory=dict)

    def of(self, model) -> list:
        return self.objects.get(model, [])


def build_world(clinic, practitioner, *, tag: str) -> World:
    """Three patients of one practitioner with fever, one lot: urgent flags and two clusters.

    ``tag`` makes names searchable: patients are called ``<tag>first<i> <tag>last<i>``.
    """
    product = ProductFactory(name=f"{tag} Numbing cream", kind=Product.Kind.NUMBING_CREAM,
                             ingredients=["lidocaine", "prilocaine"])
    world = World(clinic=clinic, practitioner=practitioner, product=product)
    for index in range(3):
        patient = PatientFactory(clinic=clinic, first_name=f"{tag}first{index}",
                                 last_name=f"{tag}last{index}",
                                 email=f"{tag.lower()}{index}@mail.example",
                                 known_allergies=["lidocaine"])
        session = session_with_checkins(
            patient=patient, practitioner=practitioner,
            products=[{"product": product, "phase": "pre", "lot_number": f"{tag}-LOT-7"}],
        )
        world.patients.append(patient)
        world.sessions.append(session)
    for index, session in enumerate(world.sessions):
        day2 = session.checkins.get(day=2)
        answer(day2, fever=True, photo=jpeg_upload() if index == 0 else None)
    escalation_clusters_process()  # as the next sweep does
    # The third patient's day-7 email failed: the resend workflow's input.
    CheckIn.objects.filter(session=world.sessions[2], day=7).update(
        status=CheckIn.Status.FAILED, next_action_at=None,
        last_error="SMTPRecipientsRefused: mailbox unavailable",
    )
    audit_record(actor=practitioner, action=AuditEvent.Action.VIEW_ANSWERS,
                 patient=world.patients[0], target="seed")
    # The second patient's day-7 check-in found no channel left: a call to make.

    from followups.consent.services import call_instead_record

    call = call_instead_record(checkin=world.sessions[1].checkins.get(day=7),
                               now=timezone.now())
    session_ids = [session.pk for session in world.sessions]
    webhook = Webhook.objects.create(clinic=clinic, url=f"https://{tag.lower()}.example/hooks",
                                     secret="whsec_test", events=["escalation.raised"])
    WebhookDelivery.objects.create(webhook=webhook, event="escalation.raised",
                                   payload={"event": "escalation.raised"},
                                   created_at=timezone.now())
    world.objects = {
        "patients.Clinic": [clinic],
        "patients.Patient": world.patients,
        "patients.Product": [product],
        "patients.TreatmentSession": world.sessions,
        "patients.ProductApplication": list(
            ProductApplication.objects.filter(session_id__in=session_ids)),
        "followups.CheckIn": list(CheckIn.objects.filter(session_id__in=session_ids)),
        "followups.CheckInResponse": list(
            CheckInResponse.objects.filter(checkin__session_id__in=session_ids)),
        "followups.Escalation": list(Escalation.objects.filter(session_id__in=session_ids)),
        "followups.ClusterSignal": list(ClusterSignal.objects.filter(clinic=clinic)),
        "followups.AuditEvent": list(AuditEvent.objects.filter(clinic=clinic)),
        "followups.Webhook": [webhook],
        "followups.WebhookDelivery": list(WebhookDelivery.objects.filter(webhook=webhook)),
        "followups.CallInstead": [call],
        "auth.User": [practitioner],
    }
    return world




def flag_patient(clinic, practitioner, *, index: int, level: str = "urgent", when=None,
                 products=(), performed_at=None):
    """A patient whose day-2 answers raised an escalation (urgent: fever; review: worse rash)."""
    patient = PatientFactory(clinic=clinic, first_name=f"Flagged{index}",
                             last_name=f"Patient{index:03d}",
                             email=f"flagged{index}@mail.example")
    session = session_with_checkins(patient=patient, practitioner=practitioner,
                                    products=products, performed_at=performed_at)
    checkin = session.checkins.get(day=2)
    answers = {"fever": True} if level == "urgent" else {"rash_trend": "worse"}
    if when is not None:
        response_record(checkin=checkin, answers={**NORMAL_ANSWERS, **answers},
                        channel=CheckInResponse.Channel.PATIENT_LINK, now=when)
    else:
        answer(checkin, **answers)
    return Escalation.objects.get(checkin=checkin)
