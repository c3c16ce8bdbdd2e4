"""From the emailed link to a resolved escalation, as the people involved do it."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from followups.delivery.sweep import followups_sweep
from followups.models import AuditEvent, Escalation
from tests.factories import ProductFactory, session_with_checkins
from tests.support.otp import VerifiedClient

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^\s/]+(/c/[A-Za-z0-9_\-]+/)")


def test_a_patient_with_fever_reaches_a_clinician_and_is_resolved(patient, staff):
    from django.contrib.auth.models import Group

    staff.groups.add(Group.objects.get(name="Clinic staff"))  # as create_staff does
    serum = ProductFactory(name="HydraBoost", ingredients=["hyaluronic acid"])
    # Three days ago: the day-2 check-in fell due yesterday at the clinic's send
    # hour, whatever the time of day the test runs (two days ago, it would not
    # be due yet before 10:00 in London).
    session = session_with_checkins(
        patient=patient, practitioner=staff, performed_at=timezone.now() - timedelta(days=3),
        products=[{"product": serum, "phase": "post", "lot_number": "HB-1"}],
    )

    # Day 2: the sweep emails the patient their link.
    assert followups_sweep().invitations_sent == 1
    [invitation] = mail.outbox
    path = LINK.search(invitation.body).group(1)

    # The patient opens it on their phone and reports a fever.
    phone = Client()
    assert phone.get(path).status_code == 200
    answers = {"rash": "moderate", "rash_trend": "worse", "breakouts": "none",
               "itching": "mild", "swelling": "mild", "pain": "mild",
               "fever": "yes", "pus": "no", "hives": "no", "comments": ""}
    page = phone.post(path, answers)
    assert page.status_code == 200
    assert "medical help" in page.content.decode().lower()
    assert patient.clinic.phone in page.content.decode()
    assert phone.get(path).status_code == 404  # the link is used up

    # The escalation is in the API, urgent, with its reasons and sources.
    api = APIClient()
    api.force_authenticate(staff)
    [flag] = api.get("/api/escalations/", {"status": "open"}).json()["results"]
    assert (flag["patient"], flag["session"], flag["level"]) == (patient.pk, session.pk, "urgent")
    assert {r["code"] for r in flag["reasons"]} == {"FEVER", "RASH_WORSENING"}
    assert all(r["source"] and r["message"] for r in flag["reasons"])
    assert api.get(f"/api/patients/{patient.pk}/").json()["open_escalation_level"] == "urgent"

    # The clinic's alert address is told at once, with only a link.
    followups_sweep()
    alert = mail.outbox[-1]
    assert alert.to == [patient.clinic.email]
    admin_path = reverse("admin:followups_escalation_change", args=[flag["id"]])
    assert admin_path in alert.body
    assert patient.last_name not in alert.body and "fever" not in alert.body.lower()

    # A nurse opens the admin: the patient is first on the queue.
    nurse = VerifiedClient()  # signs in with the authenticator's code, as the product requires
    nurse.force_login(staff)
    queue = nurse.get(reverse("admin:followups_escalation_changelist")).content.decode()
    assert "URGENT" in queue and patient.first_name in queue
    assert nurse.get(admin_path).status_code == 200

    # Acknowledge through the API, resolve in the admin with a note.
    acknowledged = api.post(f"/api/escalations/{flag['id']}/acknowledge/").json()
    assert acknowledged["status"] == "acknowledged"
    assert acknowledged["acknowledged_by"] == staff.pk
    resolve_url = reverse("admin:followups_escalation_resolve", args=[flag["id"]])
    assert nurse.post(resolve_url, {"note": ""}).status_code == 200  # note required
    assert Escalation.objects.get(pk=flag["id"]).status == "acknowledged"
    nurse.post(resolve_url, {"note": "Called 14:10; GP appointment today."})

    resolved = api.get(f"/api/escalations/{flag['id']}/").json()
    assert resolved["status"] == "resolved"
    assert resolved["resolution_note"] == "Called 14:10; GP appointment today."
    assert resolved["resolved_by"] == staff.pk
    assert api.get(f"/api/patients/{patient.pk}/").json()["open_escalation_level"] == "none"
    actions = set(AuditEvent.objects.filter(actor=staff).values_list("action", flat=True))
    assert {"acknowledge", "resolve"} <= actions
