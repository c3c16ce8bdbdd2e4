"""The "Call instead" list on the dashboard and the patient's page, and its admin list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from followups.consent.services import How, patient_opt_out
from followups.delivery.sweep import followups_sweep
from followups.models import CallInstead
from tests.factories import session_with_checkins

pytestmark = pytest.mark.django_db


def day2_of(patient):
    return session_with_checkins(patient=patient, performed_at=timezone.now()
                                 - timedelta(days=3)).checkins.get(day=2)


def test_the_dashboard_and_the_patient_page_show_the_call(patient, staff_client):
    patient_opt_out(patient=patient, channel="email", how=How.LINK)
    patient.phone = ""
    patient.save()
    day2_of(patient)
    followups_sweep()

    dashboard = staff_client.get("/admin/").content.decode()
    page = staff_client.get(f"/admin/patients/patient/{patient.pk}/change/").content.decode()

    assert "Call instead" in dashboard and str(patient) in dashboard
    assert "Call instead" in page and "Day-2 check-in" in page
    assert "emails on" in page and How.LINK in page


def test_staff_mark_a_call_done_from_the_list(patient, staff_client, staff):
    patient_opt_out(patient=patient, channel="email", how=How.LINK)
    patient.phone = ""
    patient.save()
    day2_of(patient)
    followups_sweep()
    call = CallInstead.objects.get()

    listed = staff_client.get("/admin/followups/callinstead/?open=yes")
    done = staff_client.post("/admin/followups/callinstead/", {
        "action": "mark_done", "_selected_action": [call.pk]})

    assert listed.status_code == 200 and str(patient) in listed.content.decode()
    assert done.status_code == 302
    call.refresh_from_db()
    assert call.done_at is not None and call.done_by == staff


def test_another_clinics_staff_never_see_the_call(patient, outsider):
    from tests.support.otp import VerifiedClient

    outsider_client = VerifiedClient()
    outsider_client.force_login(outsider)
    patient_opt_out(patient=patient, channel="email", how=How.LINK)
    patient.phone = ""
    patient.save()
    day2_of(patient)
    followups_sweep()
    call = CallInstead.objects.get()

    assert str(patient) not in outsider_client.get("/admin/followups/callinstead/").content.decode()
    assert outsider_client.get(f"/admin/followups/callinstead/{call.pk}/change/").status_code == 404


def test_staff_record_a_patients_wish_to_be_emailed_again_and_it_is_audited(
        patient, staff_client, staff):
    from followups.models import AuditEvent

    patient_opt_out(patient=patient, channel="email", how=How.LINK)

    done = staff_client.post("/admin/patients/patient/", {
        "action": "email_opt_in", "_selected_action": [patient.pk]})

    assert done.status_code == 302
    patient.refresh_from_db()
    assert patient.email_opted_out_at is None
    event = AuditEvent.objects.get(patient=patient, action="opt_in")
    assert event.actor == staff and event.target == "email (staff)"
