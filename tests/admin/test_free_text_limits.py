"""The admin refuses free text longer than the model keeps, with the error on the field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from followups.models import RESOLUTION_NOTE_MAX_LENGTH, Escalation
from patients.models import MAX_INGREDIENTS, NOTES_MAX_LENGTH, Patient, Product, TreatmentSession
from tests.factories import response_for, session_with_checkins

pytestmark = pytest.mark.django_db


def form_errors(response) -> dict:
    assert response.status_code == 200, "the form was accepted"
    return response.context["adminform"].form.errors


def test_it_refuses_a_patients_notes_over_the_limit(staff_client, clinic):
    response = staff_client.post(reverse("admin:patients_patient_add"), {
        "clinic": clinic.pk, "first_name": "Nadia", "last_name": "Bell",
        "email": "nadia@mail.example", "notes": "n" * (NOTES_MAX_LENGTH + 1),
        "sessions-TOTAL_FORMS": 0, "sessions-INITIAL_FORMS": 0,
    })

    assert list(form_errors(response)) == ["notes"]
    assert not Patient.objects.exists()


def test_it_refuses_a_sessions_notes_over_the_limit(staff_client, staff, patient):
    performed = timezone.localtime(timezone.now() - timedelta(days=2))

    response = staff_client.post(reverse("admin:patients_treatmentsession_add"), {
        "patient": patient.pk, "practitioner": staff.pk,
        "performed_at_0": performed.strftime("%Y-%m-%d"),
        "performed_at_1": performed.strftime("%H:%M:%S"),
        "treatment_area": "face", "device": "Dermapen 4", "needle_depth_mm": "0.5",
        "notes": "n" * (NOTES_MAX_LENGTH + 1),
        "applications-TOTAL_FORMS": 0, "applications-INITIAL_FORMS": 0,
    })

    assert list(form_errors(response)) == ["notes"]
    assert not TreatmentSession.objects.exists()


def test_it_refuses_a_resolution_note_over_the_limit(staff_client, staff, patient):
    session = session_with_checkins(patient=patient, practitioner=staff)
    response_for(session.checkins.get(day=2), fever=True)
    escalation = Escalation.objects.get()

    response = staff_client.post(reverse("admin:followups_escalation_resolve",
                                         args=[escalation.pk]),
                                 {"note": "r" * (RESOLUTION_NOTE_MAX_LENGTH + 1)})

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["note"]
    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.OPEN


def test_it_refuses_more_ingredients_than_the_model_keeps(superuser_client):
    names = ", ".join(f"ingredient {n}" for n in range(MAX_INGREDIENTS + 1))

    response = superuser_client.post(reverse("admin:patients_product_add"), {
        "name": "Serum", "kind": "serum", "ingredients": names})

    assert list(form_errors(response)) == ["ingredients"]
    assert not Product.objects.exists()
