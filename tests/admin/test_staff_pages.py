"""The staff pages after the accessibility and usability audit (issue 15)."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import LogEntry

from followups.models import ClusterSignal, Escalation
from tests.factories import ClinicFactory

pytestmark = pytest.mark.django_db


def test_it_lists_acknowledgements_and_resolutions_in_recent_actions(staff_client, staff,
                                                                     own_world):
    escalation = own_world.of("followups.Escalation")[0]

    staff_client.post(f"/admin/followups/escalation/{escalation.pk}/acknowledge/")
    staff_client.post(f"/admin/followups/escalation/{escalation.pk}/resolve/",
                      {"note": "Called back, GP seen today."})

    messages = list(LogEntry.objects.filter(user=staff, object_id=str(escalation.pk))
                    .order_by("action_time").values_list("change_message", flat=True))
    assert messages == ["Acknowledged: being handled", "Resolved, with a note of what was done"]
    home = staff_client.get("/admin/").content.decode()
    assert "Recent actions" not in home or str(escalation) in home


def test_a_cluster_signal_is_closed_from_its_own_page(staff_client, own_world):
    signal = own_world.of("followups.ClusterSignal")[0]

    page = staff_client.get(f"/admin/followups/clustersignal/{signal.pk}/change/")
    assert "Close this signal (investigated)" in page.content.decode()
    response = staff_client.post(f"/admin/followups/clustersignal/{signal.pk}/close/")

    assert response.status_code == 302
    signal.refresh_from_db()
    assert signal.status == ClusterSignal.Status.CLOSED
    closed = staff_client.get(f"/admin/followups/clustersignal/{signal.pk}/change/")
    assert "Close this signal" not in closed.content.decode()


def test_adding_a_patient_preselects_the_users_only_clinic_and_its_language(staff_client, clinic):
    clinic.default_language = "fr"
    clinic.save()

    form = staff_client.get("/admin/patients/patient/add/")

    assert form.context["adminform"].form.initial["clinic"] == clinic.pk
    assert form.context["adminform"].form.initial["language"] == "fr"
    assert not form.context["inline_admin_formsets"]  # no empty sessions table


def test_a_new_session_page_has_no_cancelled_at_and_labels_every_control(staff_client,
                                                                         own_world):
    patient = own_world.patients[0]

    html = staff_client.get(
        f"/admin/patients/treatmentsession/add/?patient={patient.pk}").content.decode()

    assert "Cancelled at" not in html
    assert 'aria-label="Performed: date (YYYY-MM-DD)"' in html
    assert 'aria-label="Performed: time (HH:MM:SS)"' in html
    assert 'aria-label="Product applied: product"' in html
    assert 'aria-label="Product applied: lot number"' in html


def test_reasons_read_the_message_first_and_name_the_documents_by_title(staff_client,
                                                                        own_world):
    escalation = own_world.of("followups.Escalation")[0]

    html = staff_client.get(f"/admin/followups/escalation/{escalation.pk}/change/").content.decode()

    assert re.search(r"<li>Fever reported[^<]*<small class=\"code\"><code>FEVER</code>", html)
    assert "Source: Rash after microneedling:" in html
    assert "000_eb7b0212037e7f6e.txt" not in html


def test_the_patient_page_gives_each_escalation_one_id_and_shows_the_language(staff_client,
                                                                              own_world):
    patient = own_world.patients[0]
    patient.language = "es"
    patient.save()

    html = staff_client.get(f"/admin/patients/patient/{patient.pk}/change/").content.decode()

    ids = re.findall(r'id="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert "<strong>Check-ins in:</strong> Spanish" in html


def test_staff_pages_write_times_one_way_in_the_clinics_time_zone(staff_client, own_world):
    escalation = Escalation.objects.filter(patient=own_world.patients[0]).first()

    html = staff_client.get(f"/admin/followups/escalation/{escalation.pk}/change/").content.decode()

    assert re.search(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d\b", html)
    assert not re.search(r"\b[A-Z][a-z]{2}\. \d{1,2}, \d{4}", html)  # "Nov. 29, 2026"
    assert not re.search(r"[ap]\.m\.", html)


def test_a_clinic_keeps_its_language_when_its_form_leaves_it_out(superuser_client):
    clinic = ClinicFactory(name="Clínica Sol", default_language="es")

    superuser_client.post(f"/admin/patients/clinic/{clinic.pk}/change/", {
        "name": clinic.name, "timezone": clinic.timezone, "phone": "", "email": "",
        "send_hour": 9, "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0})

    clinic.refresh_from_db()
    assert (clinic.send_hour, clinic.default_language) == (9, "es")


def test_the_session_page_names_the_phases_as_the_api_does(staff_client, own_world):
    patient = own_world.patients[0]

    html = staff_client.get(
        f"/admin/patients/treatmentsession/add/?patient={patient.pk}").content.decode()

    for value, label in (("pre", "Pre"), ("during", "During"), ("post", "Post")):
        assert f'<option value="{value}">{label}</option>' in html
    assert ">Before<" not in html and ">After<" not in html
