"""Every free-text field has a length, kept by the model: the API refuses more with a 400
naming the field, and so does a service called from anywhere else.

Found by an attack: a patient's ``notes`` took 10 MB.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from followups.escalations.services import escalation_resolve
from followups.models import (
    COMMENTS_MAX_LENGTH,
    RESOLUTION_NOTE_MAX_LENGTH,
    CheckInResponse,
    Escalation,
)
from patients.models import (
    MAX_INGREDIENT_LENGTH,
    MAX_INGREDIENTS,
    NOTES_MAX_LENGTH,
    Patient,
    Product,
    TreatmentSession,
)
from patients.services import patient_create
from tests.factories import response_for, session_with_checkins

pytestmark = pytest.mark.django_db


def patient_body(clinic, **fields) -> dict:
    return {"clinic": clinic.pk, "first_name": "Nadia", "last_name": "Bell",
            "email": "nadia@mail.example", **fields}


def session_body(patient, **fields) -> dict:
    return {"patient": patient.pk,
            "performed_at": (timezone.now() - timedelta(days=1)).isoformat(),
            "treatment_area": "face", "device": "Dermapen 4", "needle_depth_mm": "0.50",
            **fields}


@pytest.fixture
def urgent(staff, patient) -> Escalation:
    session = session_with_checkins(patient=patient, practitioner=staff)
    response_for(session.checkins.get(day=2), fever=True)
    return Escalation.objects.get()


def test_it_refuses_a_patients_notes_over_the_limit_naming_the_field(api, clinic):
    response = api.post("/api/patients/", patient_body(clinic, notes="n" * (NOTES_MAX_LENGTH + 1)),
                        format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["notes"]
    assert str(NOTES_MAX_LENGTH) in response.json()["notes"][0]
    assert not Patient.objects.exists()


def test_it_takes_a_patients_notes_up_to_the_limit(api, clinic, patient):
    created = api.post("/api/patients/", patient_body(clinic, notes="n" * NOTES_MAX_LENGTH),
                       format="json")
    changed = api.patch(f"/api/patients/{patient.pk}/", {"notes": "m" * (NOTES_MAX_LENGTH + 1)},
                        format="json")

    assert created.status_code == 201
    assert changed.status_code == 400 and list(changed.json()) == ["notes"]


@pytest.mark.parametrize(("field", "limit"), [
    ("notes", NOTES_MAX_LENGTH), ("treatment_area", 100), ("device", 100),
])
def test_it_refuses_a_sessions_text_over_the_limit_naming_the_field(api, patient, field, limit):
    response = api.post("/api/sessions/", session_body(patient, **{field: "x" * (limit + 1)}),
                        format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not TreatmentSession.objects.exists()


def test_it_refuses_a_resolution_note_over_the_limit_naming_the_field(api, urgent):
    response = api.post(f"/api/escalations/{urgent.pk}/resolve/",
                        {"note": "r" * (RESOLUTION_NOTE_MAX_LENGTH + 1)}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["note"]
    urgent.refresh_from_db()
    assert urgent.status == Escalation.Status.OPEN and urgent.resolution_note == ""


def test_it_refuses_comments_taken_by_phone_over_the_limit(api, staff, patient):
    checkin = session_with_checkins(patient=patient, practitioner=staff).checkins.get(day=2)
    answers = {"rash": "none", "breakouts": "none", "itching": "none", "swelling": "none",
               "pain": "none", "fever": False, "pus": False, "hives": False}

    response = api.post(f"/api/checkins/{checkin.pk}/response/",
                        {**answers, "comments": "c" * (COMMENTS_MAX_LENGTH + 1)}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["comments"]


# The model keeps the limits, whoever calls the services --------------------------------------


def test_the_services_refuse_a_patients_notes_over_the_limit(staff, clinic):
    with pytest.raises(ValidationError) as refused:
        patient_create(actor=staff, data={
            "clinic": clinic, "first_name": "Nadia", "last_name": "Bell",
            "email": "nadia@mail.example", "notes": "n" * (NOTES_MAX_LENGTH + 1)})

    assert list(refused.value.message_dict) == ["notes"]


def test_the_service_refuses_a_resolution_note_over_the_limit(staff, urgent):
    with pytest.raises(ValidationError) as refused:
        escalation_resolve(escalation=urgent, actor=staff,
                           note="r" * (RESOLUTION_NOTE_MAX_LENGTH + 1))

    assert list(refused.value.message_dict) == ["note"]


def test_the_model_refuses_comments_over_the_limit(staff, patient):
    checkin = session_with_checkins(patient=patient, practitioner=staff).checkins.get(day=2)
    answers = CheckInResponse(checkin=checkin, channel="staff", submitted_at=timezone.now(),
                              comments="c" * (COMMENTS_MAX_LENGTH + 1),
                              **{name: "none" for name in CheckInResponse.SEVERITY_FIELDS},
                              **{name: False for name in CheckInResponse.YES_NO_FIELDS})

    with pytest.raises(ValidationError) as refused:
        answers.full_clean(exclude=["checkin", "entered_by", "photo"],
                           validate_constraints=False)

    assert list(refused.value.message_dict) == ["comments"]


@pytest.mark.parametrize("ingredients", [
    ["lidocaine"] * (MAX_INGREDIENTS + 1),
    ["x" * (MAX_INGREDIENT_LENGTH + 1)],
])
def test_the_model_refuses_a_list_of_ingredients_too_long_or_with_a_name_too_long(ingredients):
    with pytest.raises(ValidationError) as refused:
        Product(name="Serum", kind="serum", ingredients=ingredients).full_clean()

    assert list(refused.value.message_dict) == ["ingredients"]
