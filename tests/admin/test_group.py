"""The "Clinic staff" group of the data migration: enough for the workflow, no more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from followups.models import CheckIn, Escalation
from patients.models import Clinic, Patient, ProductApplication, TreatmentSession
from patients.services import staff_create
from tests.admin.builders import answer, staff_group_migration
from tests.factories import PatientFactory, ProductFactory

pytestmark = pytest.mark.django_db

EXPECTED = {
    "patients.view_patient", "patients.add_patient", "patients.change_patient",
    "patients.view_treatmentsession", "patients.add_treatmentsession",
    "patients.change_treatmentsession",
    "patients.view_productapplication", "patients.add_productapplication",
    "patients.change_productapplication",
    # The shared catalogue is read only for clinic staff (clinical-reference:
    # changed only by those allowed to, every change audited).
    "patients.view_product",
    "patients.view_clinic",
    "followups.view_checkin", "followups.change_checkin",
    "followups.view_checkinresponse",
    "followups.view_escalation", "followups.change_escalation",
    "followups.view_clustersignal", "followups.change_clustersignal",
}


def test_it_grants_the_group_exactly_the_workflow_permissions(clinic_staff_group):
    granted = {f"{p.content_type.app_label}.{p.codename}"
               for p in clinic_staff_group.permissions.select_related("content_type")}

    assert granted == EXPECTED
    assert not any(name.split(".")[1].startswith("delete_") for name in granted)
    assert not any(name.startswith(("auth.", "authtoken.")) for name in granted)
    assert "followups.view_auditevent" not in granted


def test_it_resets_the_group_when_the_migration_runs_again(clinic_staff_group):
    from django.apps import apps

    clinic_staff_group.permissions.clear()
    staff_group_migration.clinic_staff_group_sync(apps)

    assert Group.objects.filter(name="Clinic staff").count() == 1
    assert clinic_staff_group.permissions.count() == len(EXPECTED)


def test_it_puts_new_staff_in_the_group(clinic, clinic_staff_group):
    user = staff_create(username="newnurse", clinic=clinic, password="x" * 12)

    assert list(user.groups.all()) == [clinic_staff_group]


def test_it_lets_a_group_member_do_the_whole_workflow(afternoon, staff_client, staff, clinic):
    product = ProductFactory(name="LidoNumb", ingredients=["lidocaine"])

    # Record a patient…
    response = staff_client.post(reverse("admin:patients_patient_add"), {
        "clinic": clinic.pk, "first_name": "Nadia", "last_name": "Bell",
        "email": "nadia@mail.example", "known_allergies": "Lidocaine, lidocaine ,prilocaine",
        "sessions-TOTAL_FORMS": 0, "sessions-INITIAL_FORMS": 0,
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    patient = Patient.objects.get(email="nadia@mail.example")
    assert patient.known_allergies == ["Lidocaine", "prilocaine"]

    # …a session with its products: check-ins are scheduled with it…
    performed = timezone.localtime(timezone.now() - timedelta(days=2))
    response = staff_client.post(reverse("admin:patients_treatmentsession_add"), {
        "patient": patient.pk, "practitioner": staff.pk,
        "performed_at_0": performed.strftime("%Y-%m-%d"),
        "performed_at_1": performed.strftime("%H:%M:%S"),
        "treatment_area": "face", "device": "Dermapen 4", "needle_depth_mm": "0.5",
        "applications-TOTAL_FORMS": 2, "applications-INITIAL_FORMS": 0,
        "applications-0-product": product.pk, "applications-0-phase": "pre",
        "applications-0-lot_number": "L-1",
    }, follow=True)
    session = TreatmentSession.objects.get(patient=patient)
    assert sorted(session.checkins.values_list("day", flat=True)) == [2, 7]
    assert "Allergy warning" in response.content.decode()

    # …the patient answers with a fever; staff acknowledge and resolve.
    answer(session.checkins.get(day=2), fever=True)
    escalation = Escalation.objects.get(patient=patient)
    staff_client.post(reverse("admin:followups_escalation_acknowledge", args=[escalation.pk]))
    staff_client.post(reverse("admin:followups_escalation_resolve", args=[escalation.pk]),
                      {"note": "Called; seen today."})
    escalation.refresh_from_db()
    assert escalation.status == "resolved"

    # Resend the day-7 email.
    day7 = session.checkins.get(day=7)
    response = staff_client.post(reverse("admin:followups_checkin_resend", args=[day7.pk]))
    assert response.status_code == 302
    assert CheckIn.objects.get(pk=day7.pk).send_generation == 2


def test_it_does_not_let_staff_delete_a_patient(staff_client, patient):
    delete = reverse("admin:patients_patient_delete", args=[patient.pk])
    changelist = staff_client.get(reverse("admin:patients_patient_changelist"))

    assert staff_client.get(delete).status_code == 403
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert "delete_selected" not in changelist.content.decode()
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_it_hides_the_user_and_group_admin_from_staff(staff_client, staff):
    for name in ("auth_user_changelist", "auth_group_changelist"):
        assert staff_client.get(reverse(f"admin:{name}")).status_code == 403
    assert staff_client.get(reverse("admin:auth_user_change", args=[staff.pk])).status_code == 403
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert "/admin/auth/" not in index


def test_it_lets_staff_read_their_clinic_but_not_change_it(staff_client, clinic):
    change = reverse("admin:patients_clinic_change", args=[clinic.pk])

    page = staff_client.get(change)
    refused = staff_client.post(change, {"name": "Renamed", "timezone": "UTC", "send_hour": 9})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert refused.status_code == 403
    assert Clinic.objects.get(pk=clinic.pk).name == clinic.name
    assert staff_client.get(reverse("admin:patients_clinic_add")).status_code == 403


def test_it_lets_superusers_manage_clinics_and_members(superuser_client, staff):
    response = superuser_client.post(reverse("admin:patients_clinic_add"), {
        "name": "Seaside Clinic", "timezone": "Europe/Lisbon", "send_hour": 9,
        "memberships-TOTAL_FORMS": 1, "memberships-INITIAL_FORMS": 0,
        "memberships-0-user": staff.pk,
    })

    assert response.status_code == 302
    clinic = Clinic.objects.get(name="Seaside Clinic")
    assert list(clinic.members.all()) == [staff]


def test_it_keeps_a_cancelled_session_read_only(staff_client, staff, patient):
    from followups.sessions import session_cancel
    from tests.factories import session_with_checkins

    product = ProductFactory(name="Serum X")
    session = session_with_checkins(patient=patient, practitioner=staff, products=[
        {"product": product, "phase": "post", "lot_number": "X-1"}])
    session_cancel(actor=staff, session=session)
    change = reverse("admin:patients_treatmentsession_change", args=[session.pk])

    assert staff_client.get(change).status_code == 200  # read-only
    assert staff_client.post(change, {}).status_code == 403
    assert ProductApplication.objects.filter(session=session).count() == 1


def test_it_answers_404_for_another_clinics_patient(staff_client, other_clinic):
    foreign = PatientFactory(clinic=other_clinic)

    assert staff_client.get(
        reverse("admin:patients_patient_change", args=[foreign.pk])).status_code == 404
