"""Network-wide, the clinic and practitioner list filters are autocomplete boxes, not lists."""

from __future__ import annotations

import re

import pytest

from tests.admin.builders import flag_patient
from tests.factories import ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/admin/followups/escalation/"


def test_a_superuser_gets_an_autocomplete_box_instead_of_every_clinic(superuser_client,
                                                                      clinic, staff):
    for index in range(12):
        ClinicFactory(name=f"Faraway clinic {index}")
    flag_patient(clinic, staff, index=1)

    page = superuser_client.get(QUEUE).content.decode()

    assert "Faraway clinic" not in page
    assert 'name="patient__clinic__id__exact"' in page
    assert 'name="session__practitioner__id__exact"' in page
    assert "admin-autocomplete" in page and "/admin/autocomplete/" in page
    assert "autocomplete_filter_qs.js" in page


def test_the_box_filters_with_the_stock_parameter_and_shows_the_choice(superuser_client,
                                                                       clinic, staff):
    other = ClinicFactory(name="Other clinic")
    mine = flag_patient(clinic, staff, index=1)
    flag_patient(other, UserFactory(clinics=[other]), index=2)

    response = superuser_client.get(QUEUE, {"patient__clinic__id__exact": clinic.pk})

    assert [row.pk for row in response.context["cl"].result_list] == [mine.pk]
    assert f'<option value="{clinic.pk}" selected>{clinic.name}</option>' in (
        response.content.decode())


def test_the_box_searches_clinics_through_the_admins_autocomplete(superuser_client, clinic):
    ClinicFactory(name="Lyon Rive Gauche")

    clinics = superuser_client.get("/admin/autocomplete/", {
        "term": "lyon", "app_label": "patients", "model_name": "patient",
        "field_name": "clinic"})

    assert clinics.status_code == 200
    assert [item["text"] for item in clinics.json()["results"]] == ["Lyon Rive Gauche"]


def test_staff_keep_the_short_list_of_their_own_clinics(staff_client, staff, clinic,
                                                        other_clinic):
    from patients.models import ClinicMembership

    second = ClinicFactory(name="Second site")
    ClinicMembership.objects.create(user=staff, clinic=second)

    page = staff_client.get(QUEUE).content.decode()

    assert clinic.name in page and second.name in page and other_clinic.name not in page
    assert "autocomplete_filter_qs.js" not in page


def clinic_select(page: str) -> str:
    """The clinic field's select tags (the form's, and any template copy of it)."""
    return " ".join(re.findall(r'<select name="clinic"[^>]*>', page))


@pytest.fixture
def patient_page(clinic):
    from tests.factories import PatientFactory

    for index in range(12):
        ClinicFactory(name=f"Faraway clinic {index}")
    return f"/admin/patients/patient/{PatientFactory(clinic=clinic).pk}/change/"


def test_a_superuser_picks_a_patients_clinic_by_typing(superuser_client, clinic, patient_page):
    page = superuser_client.get(patient_page).content.decode()

    assert "Faraway clinic" not in page
    assert f'<option value="{clinic.pk}" selected>{clinic.name}</option>' in page
    assert "admin-autocomplete" in clinic_select(page)


def test_staff_pick_a_patients_clinic_from_their_own_list(staff_client, clinic, other_clinic,
                                                          patient_page):
    page = staff_client.get(patient_page).content.decode()

    assert "admin-autocomplete" not in clinic_select(page)
    assert f">{clinic.name}</option>" in page
    assert other_clinic.name not in page and "Faraway clinic" not in page


def test_a_superuser_picks_a_sessions_practitioner_by_typing(superuser_client, clinic, staff):
    for index in range(5):
        UserFactory(username=f"faraway-nurse-{index}")

    page = superuser_client.get("/admin/patients/treatmentsession/add/").content.decode()

    assert "faraway-nurse" not in page
    assert 'data-field-name="practitioner"' in page
