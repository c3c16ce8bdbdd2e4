"""Sessions and patients recorded in the admin go through patients.services."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from followups.assessment.schedule import checkin_due_at
from patients.models import TreatmentSession
from tests.factories import PatientFactory, ProductFactory, UserFactory, session_with_checkins

pytestmark = pytest.mark.django_db

ADD = "admin:patients_treatmentsession_add"


@pytest.fixture
def cream():
    return ProductFactory(name="LidoNumb 5%", ingredients=["Lidocaine", "prilocaine"])


@pytest.fixture
def serum():
    return ProductFactory(name="HydraBoost", ingredients=["hyaluronic acid"])


def session_form(patient, practitioner, *rows, day="2026-03-10", time="14:00:00", **extra):
    data = {
        "patient": patient.pk, "practitioner": practitioner.pk,
        "performed_at_0": day, "performed_at_1": time,
        "treatment_area": "face", "device": "Dermapen 4", "needle_depth_mm": "0.75",
        "notes": "", "applications-TOTAL_FORMS": len(rows) + 1,
        "applications-INITIAL_FORMS": 0,
    }
    for index, (product, phase, lot) in enumerate(rows):
        data.update({f"applications-{index}-product": product.pk,
                     f"applications-{index}-phase": phase,
                     f"applications-{index}-lot_number": lot})
    data.update(extra)
    return data


def test_it_records_a_session_its_products_and_checkins_together(staff_client, staff, clinic,
                                                                  cream, serum):
    patient = PatientFactory(clinic=clinic, known_allergies=["lidocaine"])

    response = staff_client.post(reverse(ADD), session_form(
        patient, staff, (cream, "pre", "LN-1"), (serum, "post", "HB-9")), follow=True)

    session = TreatmentSession.objects.get(patient=patient)
    assert [(a.product.name, a.phase, a.lot_number)
            for a in session.applications.order_by("id")] == [
        ("LidoNumb 5%", "pre", "LN-1"), ("HydraBoost", "post", "HB-9")]
    assert sorted(session.checkins.values_list("day", flat=True)) == [2, 7]
    # Typed in the clinic's local time: 14:00 in London on 10 March is 14:00 UTC.
    assert session.performed_at == datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    day2 = session.checkins.get(day=2)
    assert day2.due_at == checkin_due_at(performed_at=session.performed_at,
                                         timezone=clinic.timezone, send_hour=clinic.send_hour,
                                         day=2)
    body = response.content.decode()
    assert "Allergy warning: LidoNumb 5% contains Lidocaine" in body
    assert LogEntry.objects.filter(object_id=str(session.pk)).exists()


def test_it_reads_times_in_the_clinics_own_time_zone(client, other_clinic, outsider, cream):
    client.force_login(outsider)  # Hilltop Aesthetics, America/New_York
    patient = PatientFactory(clinic=other_clinic)

    client.post(reverse(ADD), session_form(patient, outsider, (cream, "pre", "L")))

    session = TreatmentSession.objects.get(patient=patient)
    assert session.performed_at == datetime(2026, 3, 10, 18, 0, tzinfo=UTC)  # EDT, UTC-4
    page = client.get(reverse("admin:patients_treatmentsession_change", args=[session.pk]))
    assert "Times in America/New_York" in page.content.decode()


def test_it_saves_nothing_when_a_product_row_is_invalid(staff_client, staff, patient, cream):
    response = staff_client.post(reverse(ADD), session_form(patient, staff, (cream, "pre", "")))

    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.errors
    assert not TreatmentSession.objects.exists()


def test_it_only_offers_colleagues_as_practitioners(staff_client, staff, patient, outsider,
                                                    cream):
    response = staff_client.post(reverse(ADD), session_form(patient, outsider, (cream, "pre", "L")))

    assert response.status_code == 200
    assert "practitioner" in response.context["adminform"].form.errors
    assert not TreatmentSession.objects.exists()


def test_it_replaces_products_and_moves_checkins_on_change(staff_client, staff, patient, cream,
                                                           serum):
    session = session_with_checkins(patient=patient, practitioner=staff, products=[
        {"product": cream, "phase": "pre", "lot_number": "OLD"}])
    [application] = session.applications.all()
    change = reverse("admin:patients_treatmentsession_change", args=[session.pk])

    data = session_form(patient, staff, day="2026-04-01", time="09:30:00")
    data.update({
        "applications-TOTAL_FORMS": 2, "applications-INITIAL_FORMS": 1,
        "applications-0-id": application.pk, "applications-0-session": session.pk,
        "applications-0-product": cream.pk, "applications-0-phase": "pre",
        "applications-0-lot_number": "OLD", "applications-0-DELETE": "on",
        "applications-1-product": serum.pk, "applications-1-phase": "post",
        "applications-1-lot_number": "NEW",
    })
    del data["patient"]
    response = staff_client.post(change, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    session.refresh_from_db()
    assert [(a.product, a.lot_number) for a in session.applications.all()] == [(serum, "NEW")]
    assert session.performed_at == datetime(2026, 4, 1, 8, 30, tzinfo=UTC)  # BST
    assert session.checkins.get(day=2).due_at == checkin_due_at(
        performed_at=session.performed_at, timezone="Europe/London", send_hour=10, day=2)


def test_it_cancels_sessions_instead_of_deleting_them(staff_client, superuser_client, staff,
                                                      patient):
    session = session_with_checkins(patient=patient, practitioner=staff)
    changelist = reverse("admin:patients_treatmentsession_changelist")

    response = staff_client.post(changelist, {"action": "cancel_selected", "index": 0,
                                              ACTION_CHECKBOX_NAME: [session.pk]})

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.is_cancelled
    assert set(session.checkins.values_list("status", flat=True)) == {"cancelled"}
    delete = reverse("admin:patients_treatmentsession_delete", args=[session.pk])
    assert superuser_client.get(delete).status_code == 403
    assert "delete_selected" not in superuser_client.get(changelist).content.decode()


def test_it_shows_allergy_warnings_in_the_list_and_on_the_session(staff_client, staff, clinic,
                                                                  cream):
    patient = PatientFactory(clinic=clinic, known_allergies=["prilocaine"])
    session = session_with_checkins(patient=patient, practitioner=staff, products=[
        {"product": cream, "phase": "pre", "lot_number": "LN-2"}])

    listing = staff_client.get(reverse("admin:patients_treatmentsession_changelist"))
    page = staff_client.get(reverse("admin:patients_treatmentsession_change", args=[session.pk]))

    for response in (listing, page):
        assert "LidoNumb 5% contains prilocaine" in response.content.decode()


def test_it_offers_the_logged_in_user_as_practitioner(staff_client, staff, patient):
    page = staff_client.get(reverse(ADD), {"patient": patient.pk})

    form = page.context["adminform"].form
    assert form.initial["practitioner"] == staff.pk
    assert str(form.initial["patient"]) == str(patient.pk)


def test_it_creates_and_updates_patients_through_the_service(staff_client, clinic):
    response = staff_client.post(reverse("admin:patients_patient_add"), {
        "clinic": clinic.pk, "first_name": "Ola", "last_name": "Berg", "email": "ola@mail.example",
        "known_allergies": "  Fragrance ,fragrance, lanolin\n",
        "sessions-TOTAL_FORMS": 0, "sessions-INITIAL_FORMS": 0,
    })
    assert response.status_code == 302
    patient = clinic.patients.get(email="ola@mail.example")
    assert patient.known_allergies == ["Fragrance", "lanolin"]

    change = reverse("admin:patients_patient_change", args=[patient.pk])
    form = staff_client.get(change).context["adminform"].form
    assert form["known_allergies"].value() == "Fragrance, lanolin"
    response = staff_client.post(change, {
        "clinic": clinic.pk, "first_name": "Ola", "last_name": "Berg", "email": "ola@mail.example",
        "known_allergies": "", "sessions-TOTAL_FORMS": 0, "sessions-INITIAL_FORMS": 0,
    })
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.known_allergies == []


def test_it_refuses_a_patient_filed_under_another_clinic(staff_client, other_clinic):
    response = staff_client.post(reverse("admin:patients_patient_add"), {
        "clinic": other_clinic.pk, "first_name": "X", "last_name": "Y", "email": "x@mail.example",
        "sessions-TOTAL_FORMS": 0, "sessions-INITIAL_FORMS": 0,
    })

    assert response.status_code == 200
    assert "clinic" in response.context["adminform"].form.errors
    assert not other_clinic.patients.exists()


def test_it_normalises_a_products_ingredients(superuser_client):
    response = superuser_client.post(reverse("admin:patients_product_add"), {
        "name": " Calm balm ", "kind": "other", "ingredients": "ceramides, Ceramides, squalane",
    })

    assert response.status_code == 302
    from patients.models import Product

    product = Product.objects.get(name="Calm balm")
    assert product.ingredients == ["ceramides", "squalane"]


def test_it_shows_the_open_escalation_level_of_patients(staff_client, clinic, staff):
    from tests.admin.builders import flag_patient

    flagged = flag_patient(clinic, staff, index=1)
    calm = PatientFactory(clinic=clinic, last_name="Calm")
    changelist = reverse("admin:patients_patient_changelist")

    urgent_only = staff_client.get(changelist, {"open_level": "urgent"})

    assert [p.pk for p in urgent_only.context["cl"].result_list] == [flagged.patient_id]
    assert "URGENT" in urgent_only.content.decode()
    assert calm.pk in [p.pk for p in staff_client.get(changelist).context["cl"].result_list]


def test_it_accepts_a_colleague_as_practitioner(staff_client, staff, clinic, patient, cream):
    colleague = UserFactory(username="colleague", clinics=[clinic])

    staff_client.post(reverse(ADD), session_form(patient, colleague, (cream, "pre", "L")))

    assert TreatmentSession.objects.get(patient=patient).practitioner == colleague


NEW_PATIENT = {"first_name": "Ola", "last_name": "Berg", "email": "ola@mail.example",
               "sessions-TOTAL_FORMS": 0, "sessions-INITIAL_FORMS": 0}


def test_a_new_patient_is_offered_their_session_not_the_list(staff_client, clinic):
    straight = staff_client.post(reverse("admin:patients_patient_add"),
                                 {**NEW_PATIENT, "clinic": clinic.pk, "_addsession": "1"})
    patient = clinic.patients.get(email="ola@mail.example")
    session_form = staff_client.get(straight["Location"])

    assert straight["Location"] == (reverse("admin:patients_treatmentsession_add")
                                    + f"?patient={patient.pk}")
    assert session_form.context["adminform"].form["patient"].value() == str(patient.pk)

    saved = staff_client.post(reverse("admin:patients_patient_add"),
                              {**NEW_PATIENT, "email": "eli@mail.example", "clinic": clinic.pk,
                               "_save": "1"}, follow=True)
    other = clinic.patients.get(email="eli@mail.example")
    assert saved.request["PATH_INFO"] == reverse("admin:patients_patient_change",
                                                 args=[other.pk])
    assert f"?patient={other.pk}" in saved.content.decode()  # "Record their session"
    add_page = staff_client.get(reverse("admin:patients_patient_add")).content.decode()
    assert 'name="_addsession"' in add_page
