"""Erasure on request and by retention: who may, what goes, what stays, and said before."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from followups.audit import audit_record
from followups.models import AuditEvent, CheckIn, CheckInResponse, Escalation
from followups.records.erasure import retention_erase_due
from followups.records.models import PatientErasure
from patients.models import ClinicMembership, Patient
from tests.admin.builders import jpeg_upload
from tests.factories import PatientFactory, SessionFactory, response_for, session_with_checkins

pytestmark = pytest.mark.django_db

REASON = {"reason": "The patient asked us to delete their data."}


@pytest.fixture
def answered(afternoon, patient, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "media")}}}
    session = session_with_checkins(patient=patient)
    response = response_for(session.checkins.get(day=2), fever=True,
                            comments="my neighbour Rosa says it looks infected")
    response.photo.save("x.jpg", jpeg_upload(), save=True)
    return session, response


def test_a_manager_erases_and_the_photo_file_goes_with_it(manager_api, manager, patient,
                                                          answered):
    session, response = answered
    path = response.photo.path
    audit_record(actor=manager, action=AuditEvent.Action.VIEW_ANSWERS, patient=patient,
                 target=f"Patient page of {patient}")

    reply = manager_api.post(f"/api/patients/{patient.pk}/erase/", REASON, format="json")

    assert reply.status_code == 200, reply.content
    patient.refresh_from_db()
    assert (patient.first_name, patient.last_name, patient.phone) == ("Erased", "", "")
    assert patient.email.endswith("@erased.invalid")
    response.refresh_from_db()
    assert not response.photo and response.comments == ""
    assert not __import__("os").path.exists(path)
    assert all(reason["params"] == {} for reason in response.assessment_reasons)
    assert set(CheckIn.objects.filter(session=session).values_list("status", flat=True)) <= {
        "completed", "cancelled"}
    erasure = PatientErasure.objects.get(patient=patient)
    assert (erasure.erased_by, erasure.reason) == (manager, REASON["reason"])
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ERASE, actor=manager).exists()
    assert not AuditEvent.objects.filter(target__contains="Quintero").exists()
    assert AuditEvent.objects.filter(target=f"Patient page of patient #{patient.pk}").exists()
    # The statistics keep the answers and the flag.
    assert Escalation.objects.filter(patient=patient, level="urgent").exists()
    assert CheckInResponse.objects.get(pk=response.pk).fever is True


def test_staff_who_are_not_managers_may_not_erase(api, patient):
    reply = api.post(f"/api/patients/{patient.pk}/erase/", REASON, format="json")

    assert reply.status_code == 403
    assert not PatientErasure.objects.exists()


def test_another_clinics_manager_finds_no_such_patient(outsider, outsider_api, patient,
                                                       other_clinic):
    ClinicMembership.objects.filter(user=outsider).update(is_manager=True)

    reply = outsider_api.post(f"/api/patients/{patient.pk}/erase/", REASON, format="json")

    assert reply.status_code == 404
    assert Patient.objects.get(pk=patient.pk).last_name == "Quintero"


@pytest.mark.parametrize("body", [{}, {"reason": "  "}, {"reason": "x" * 501}])
def test_it_refuses_an_erasure_without_a_reason_naming_the_field(manager_api, patient, body):
    reply = manager_api.post(f"/api/patients/{patient.pk}/erase/", body, format="json")

    assert reply.status_code == 400 and "reason" in reply.json()
    assert Patient.objects.get(pk=patient.pk).last_name == "Quintero"


def test_it_erases_once(manager_api, patient):
    manager_api.post(f"/api/patients/{patient.pk}/erase/", REASON, format="json")
    again = manager_api.post(f"/api/patients/{patient.pk}/erase/", REASON, format="json")

    assert again.status_code == 400
    assert PatientErasure.objects.count() == 1


def test_the_admins_delete_asks_for_the_name_typed_back_then_erases(client, manager, patient,
                                                                    answered):
    client.force_login(manager)
    delete = reverse("admin:patients_patient_delete", args=[patient.pk])

    page = client.get(delete).content.decode()
    assert "cannot be undone" in page
    wrong = client.post(delete, {"reason": "asked", "typed_name": "Maya Quintera"})
    assert wrong.status_code == 200 and "not the patient" in wrong.content.decode()
    assert not PatientErasure.objects.exists()

    right = client.post(delete, {"reason": "asked", "typed_name": "maya  quintero"})

    assert right.status_code == 302
    assert PatientErasure.objects.get(patient=patient).erased_by == manager
    assert Patient.objects.filter(pk=patient.pk).exists()  # erased, never cascaded away


def test_retention_erases_in_batches_only_the_patients_past_it(clinic, settings):
    settings.DATA_RETENTION_DAYS = 3650
    now = timezone.now()
    old = [PatientFactory(clinic=clinic) for _ in range(5)]
    for patient in old:
        SessionFactory(patient=patient, performed_at=now - timedelta(days=3651))
    kept = PatientFactory(clinic=clinic)
    SessionFactory(patient=kept, performed_at=now - timedelta(days=3651))
    SessionFactory(patient=kept, performed_at=now - timedelta(days=10))  # came back since

    report = retention_erase_due(batch_size=2)

    assert report.as_dict() == {"erased": 5, "failed": 0}
    assert set(PatientErasure.objects.values_list("patient_id", flat=True)) == {
        p.pk for p in old}
    assert retention_erase_due().erased == 0


def test_create_staff_makes_a_manager(clinic, monkeypatch):
    monkeypatch.setenv("STAFF_PASSWORD", "a long and unusual passphrase 42")
    out = io.StringIO()

    call_command("create_staff", "head", "--clinic", clinic.name, "--manager", stdout=out)

    assert "Created manager 'head'" in out.getvalue()
    assert ClinicMembership.objects.get(user__username="head", clinic=clinic).is_manager


def test_the_export_is_for_the_patients_clinic_only_and_audited(afternoon, api, outsider_api,
                                                                staff, patient, answered):
    assert outsider_api.get(f"/api/patients/{patient.pk}/export/").status_code == 404

    reply = api.get(f"/api/patients/{patient.pk}/export/")

    assert reply.status_code == 200 and reply["Content-Type"] == "application/fhir+json"
    bundle = reply.json()
    assert bundle["type"] == "collection"
    assert any(e["resource"]["resourceType"] == "Media" for e in bundle["entry"])
    assert AuditEvent.objects.filter(actor=staff, patient=patient,
                                     action=AuditEvent.Action.EXPORT_RECORD).exists()


def test_erasure_removes_the_nurses_call_notes_and_the_stored_exports_that_may_name_them(
        manager_api, manager, patient, answered, clinic, django_capture_on_commit_callbacks):
    from datetime import date

    from followups.desk.exports import export_build, export_request
    from followups.escalations.contacts import contact_record
    from followups.models import ContactAttempt

    escalation = Escalation.objects.get(patient=patient)
    contact_record(escalation=escalation, actor=manager, outcome="reached",
                   note=f"Spoke to {patient.first_name} {patient.last_name}, rash settling")
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=False):
        export = export_request(user=manager, what="queue", clinic=clinic,
                                start=date(today.year, 1, 1), end=today)
    export = export_build(export_id=export.pk)
    stored = export.file.path
    assert patient.last_name in open(stored, encoding="utf-8").read()

    assert manager_api.post(f"/api/patients/{patient.pk}/erase/", REASON,
                            format="json").status_code == 200

    assert ContactAttempt.objects.get(escalation=escalation).note == "[erased]"
    assert ContactAttempt.objects.get(escalation=escalation).outcome == "reached"
    export.refresh_from_db()
    assert (export.status, export.file.name) == ("failed", "")
    assert "erased" in export.error
    assert not __import__("os").path.exists(stored)
