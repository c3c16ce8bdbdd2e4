"""Seed a demo clinic: a staff login, a dozen patients, products and sessions.

Running it again changes nothing: everything is looked up before it is made.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from followups.assessment.symptoms import calm_answers
from followups.consent.services import How, patient_opt_out
from followups.escalations.clusters import escalation_clusters_process
from followups.link import photos
from followups.models import CheckIn, CheckInResponse
from followups.services import response_record
from followups.sessions import product_create, session_create
from patients.models import Clinic, Patient, Product, TreatmentSession
from patients.services import clinic_create, membership_add, patient_create, staff_create

CLINIC_NAME = "Demo Skin Clinic"
STAFF_USERNAME = "demo"
STAFF_PASSWORD = "aftercare-demo"
ADMIN_USERNAME = "admin"

PRODUCTS = [
    ("LidoNumb 5% numbing cream", Product.Kind.NUMBING_CREAM, ["lidocaine", "prilocaine"]),
    ("HydraBoost hyaluronic serum", Product.Kind.HYALURONIC_ACID,
     ["hyaluronic acid", "glycerin", "panthenol"]),
    ("Renew growth factor", Product.Kind.GROWTH_FACTOR, ["EGF", "niacinamide"]),
    ("Calm barrier balm", Product.Kind.OTHER, ["ceramides", "squalane"]),
]

# (first, last, allergies, acne prone, days ago, answers at day 2 or None)
# Ben Okafor's and Lucia Fernandez's sessions were 3 days ago and unanswered:
# their day-2 check-ins fell due yesterday at 10:00, so the worker's first sweep
# emails them whatever the time of day ("Try it" in README).
PATIENTS = [
    ("Amira", "Haddad", ["lidocaine"], False, 3, {"rash": "mild", "rash_trend": "worse",
                                                 "itching": "moderate"}),
    ("Ben", "Okafor", [], True, 3, None),
    ("Chloe", "Martin", [], False, 3, {"fever": True, "rash": "moderate",
                                      "rash_trend": "worse"}),
    ("Daniel", "Kowalski", [], False, 9, {}),
    ("Elena", "Rossi", ["fragrance"], False, 1, None),
    ("Farah", "Siddiqui", [], True, 8, {"breakouts": "moderate", "breakouts_trend": "same"}),
    ("George", "Brennan", [], False, 0, None),
    ("Hana", "Sato", [], False, 4, {}),
    ("Isaac", "Mensah", [], False, 5, None),
    ("Julia", "Novak", [], True, 6, {"breakouts": "mild", "breakouts_trend": "better"}),
    ("Kofi", "Asante", [], False, 12, {}),
    ("Lucia", "Fernandez", [], False, 3, None),
]
# Lucia is reached by text (printed like the emails, SMS_BACKEND=console); Isaac
# unsubscribed from the emails and gave no mobile: his check-in goes on "Call
# instead" (the rest are emailed).
BY_TEXT = {"Fernandez"}
OPTED_OUT = {"Mensah"}
# The patients who read another language than English (the rest read English).
LANGUAGES = {"Fernandez": "es", "Rossi": "fr", "Martin": "fr"}
# Daniel Kowalski sent a photo with each answered check-in: side by side on his page.
PHOTO_PATIENT = "Kowalski"

NORMAL = {**calm_answers(), "rash": "mild", "rash_trend": "better", "swelling": "mild",
          "comments": ""}


class Command(BaseCommand):
    help = "Create the demo clinic, its staff login, patients, products and sessions (idempotent)."

    def handle(self, *args, **options):
        # Its users' password is printed in the README: never on a real site.
        if not settings.DEBUG:
            raise CommandError("seed_demo runs only with DJANGO_DEBUG=true: its logins' password "
                               "is published in the README.")
        self._seed()

    @transaction.atomic
    def _seed(self):
        clinic = Clinic.objects.filter(name=CLINIC_NAME).first() or clinic_create(
            name=CLINIC_NAME, timezone_name="Europe/London", phone="+44 20 7946 0123",
            email="alerts@demo-clinic.example", send_hour=10,
        )
        User = get_user_model()
        staff = User.objects.filter(username=STAFF_USERNAME).first() or staff_create(
            username=STAFF_USERNAME, clinic=clinic, password=STAFF_PASSWORD,
            email="nurse@demo-clinic.example",
        )
        admin = User.objects.filter(username=ADMIN_USERNAME).first() or staff_create(
            username=ADMIN_USERNAME, clinic=clinic, password=STAFF_PASSWORD,
            email="admin@demo-clinic.example", superuser=True,
        )
        membership_add(user=admin, clinic=clinic)
        products = {
            name: Product.objects.filter(name=name).first()
            or product_create(name=name, kind=kind, ingredients=ingredients)
            for name, kind, ingredients in PRODUCTS
        }
        created = 0
        now = timezone.now()
        for index, (first, last, allergies, acne, days_ago, answers) in enumerate(PATIENTS):
            email = f"{first.lower()}.{last.lower()}@patients.example"
            if Patient.objects.filter(clinic=clinic, email=email).exists():
                continue
            patient = patient_create(actor=None, data={
                "clinic": clinic, "first_name": first, "last_name": last, "email": email,
                "phone": "" if last in OPTED_OUT else f"+44 7400 123{index:03d}",
                "known_allergies": allergies, "acne_prone": acne,
                "language": LANGUAGES.get(last, "en"),
                "contact_by": "sms" if last in BY_TEXT else "email",
            })
            if last in OPTED_OUT:
                patient_opt_out(patient=patient, channel="email", how=How.LINK)
            chosen = [products[PRODUCTS[0][0]], products[PRODUCTS[1][0]]]
            if index % 3 == 0:
                chosen.append(products[PRODUCTS[2][0]])
            session = session_create(
                actor=None, patient=patient, practitioner=staff,
                performed_at=now - timedelta(days=days_ago, hours=2),
                treatment_area=["face", "neck", "décolletage"][index % 3],
                device="Dermapen 4", needle_depth_mm=Decimal("0.75"),
                products=[
                    {"product": product, "phase": phase, "lot_number": f"DEMO-{product.pk:02d}01"}
                    for product, phase in zip(chosen, ["pre", "during", "post"], strict=False)
                ],
            )
            if answers is not None:
                checkin = CheckIn.objects.get(session=session, day=2)
                photo = _demo_photo(redness=150) if last == PHOTO_PATIENT else None
                response_record(checkin=checkin, answers={**NORMAL, **answers},
                                channel=CheckInResponse.Channel.STAFF, entered_by=staff,
                                photo=photo)
                if last == PHOTO_PATIENT:
                    response_record(checkin=CheckIn.objects.get(session=session, day=7),
                                    answers={**NORMAL, "rash": "none", "rash_trend": "",
                                             "swelling": "none"},
                                    channel=CheckInResponse.Channel.STAFF, entered_by=staff,
                                    photo=_demo_photo(redness=60))
            created += 1
        # What the worker's next sweep would do: the dashboard shows any cluster at once.
        escalation_clusters_process()
        sessions = TreatmentSession.objects.filter(patient__clinic=clinic).count()
        if created:
            self.stdout.write(self.style.SUCCESS(
                f"Seeded {CLINIC_NAME}: {created} patients, {sessions} sessions."
            ))
        else:
            self.stdout.write(f"{CLINIC_NAME} is already seeded ({sessions} sessions).")


def _demo_photo(*, redness: int):
    """A stand-in for a photo of treated skin: skin tone with a patch of redness."""
    image = Image.new("RGB", (480, 360), (224, 182, 160))
    ImageDraw.Draw(image).ellipse((120, 80, 360, 280), fill=(224, 182 - redness // 2,
                                                              160 - redness // 2))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    upload = SimpleUploadedFile("demo.jpg", buffer.getvalue(), content_type="image/jpeg")
    return photos.photo_reencode(upload)
