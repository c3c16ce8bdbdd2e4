"""API reads of follow-up data are audited like the admin's, and API edits leave a history."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from followups.models import AuditEvent
from tests.factories import PatientFactory, response_for, session_with_checkins

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(patient, staff):
    session = session_with_checkins(patient=patient, practitioner=staff)
    response_for(session.checkins.get(day=2), fever=True)
    return session


def views(actor):
    return list(AuditEvent.objects.filter(actor=actor, action=AuditEvent.Action.VIEW_ANSWERS)
                .values_list("patient_id", "target"))


def test_it_audits_who_read_whose_answers_through_the_checkins_api(api, staff, answered,
                                                                   patient):
    listing = api.get("/api/checkins/")
    one = api.get(f"/api/checkins/{answered.checkins.get(day=2).pk}/")

    assert listing.status_code == one.status_code == 200
    assert views(staff) == [
        (patient.pk, f"API GET /api/checkins/{answered.checkins.get(day=2).pk}/"),
        (patient.pk, "API GET /api/checkins/"),
    ]
    event = AuditEvent.objects.filter(actor=staff).first()
    assert event.clinic_id == patient.clinic_id and event.at is not None


@pytest.mark.parametrize("path", ["/api/sessions/", "/api/escalations/", "/api/patients/"])
def test_it_audits_a_page_of_follow_up_data_in_one_row_naming_each_patient(
        api, staff, answered, patient, clinic, path):
    other = PatientFactory(clinic=clinic, first_name="Noor")
    session_with_checkins(patient=other, practitioner=staff)

    assert api.get(path).status_code == 200

    expected = [patient.pk, other.pk] if path != "/api/escalations/" else [patient.pk]
    [event] = AuditEvent.objects.filter(actor=staff, action=AuditEvent.Action.VIEW_ANSWERS)
    assert event.patient_ids == sorted(expected)
    assert event.target == f"API GET {path}"
    assert event.clinic_id == clinic.pk
    assert event.patient_id == (expected[0] if len(expected) == 1 else None)


def test_it_purges_audit_rows_past_the_retention_in_batches(staff, patient):
    from datetime import timedelta

    from django.utils import timezone

    from followups.audit import audit_purge, audit_record

    now = timezone.now()
    for _ in range(5):
        audit_record(actor=staff, action=AuditEvent.Action.VIEW_ANSWERS, patient=patient)
    kept = audit_record(actor=staff, action=AuditEvent.Action.VIEW_ANSWERS, patient=patient)
    AuditEvent.objects.exclude(pk=kept.pk).update(at=now - timedelta(days=31))
    AuditEvent.objects.filter(pk=kept.pk).update(at=now - timedelta(days=29))

    assert audit_purge(now=now, retention_days=30, batch=2) == 5
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [kept.pk]
    assert audit_purge(now=now, retention_days=30, batch=2) == 0


def test_it_does_not_audit_a_refused_or_empty_read(api, outsider_api, outsider, answered):
    outsider_api.get(f"/api/checkins/{answered.checkins.get(day=2).pk}/")  # 404
    outsider_api.get("/api/checkins/")  # an empty page

    assert views(outsider) == []


def test_it_keeps_a_history_of_patient_edits_through_the_api(api, staff, clinic):
    created = api.post("/api/patients/", {"clinic": clinic.pk, "first_name": "Ines",
                                           "last_name": "Duarte",
                                           "email": "ines@mail.example"}, format="json")
    pk = created.json()["id"]
    api.patch(f"/api/patients/{pk}/", {"notes": "Prefers calls after 5pm", "last_name": "Duarte"},
              format="json")

    entries = LogEntry.objects.filter(object_id=str(pk)).order_by("action_time", "id")
    assert [(e.user_id, e.get_change_message()) for e in entries] == [
        (staff.pk, "Added through the API."),
        (staff.pk, "Changed notes through the API."),
    ]
    assert "5pm" not in " ".join(e.change_message for e in entries)  # names, never values


def test_it_keeps_a_history_of_session_edits_and_cancels_through_the_api(api, staff, patient):
    session = session_with_checkins(patient=patient, practitioner=staff)

    api.patch(f"/api/sessions/{session.pk}/", {"treatment_area": "neck"}, format="json")
    api.delete(f"/api/sessions/{session.pk}/")

    messages = list(LogEntry.objects.filter(object_id=str(session.pk))
                    .order_by("action_time", "id").values_list("change_message", flat=True))
    assert messages == ["Changed treatment area through the API.", "Cancelled through the API."]
