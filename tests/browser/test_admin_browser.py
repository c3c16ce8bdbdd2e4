"""The desk in a real browser: a nurse finds today's urgent patient, understands why, handles it.

Real headless Chromium (tests/browser/conftest.py) against the live server.
Screenshots are saved in tests/artifacts/screenshots/admin-*.png (the folder
is printed).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from followups.models import AuditEvent, Escalation
from followups.services import response_record
from tests.admin.builders import answer, ensure_clinic_staff_group, jpeg_upload
from tests.factories import (
    NORMAL_ANSWERS,
    ClinicFactory,
    PatientFactory,
    UserFactory,
    session_with_checkins,
)
from tests.support.otp import authenticator_for, code_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"


@pytest.fixture
def desk_page(chromium):
    """A laptop-sized page, as at the clinic's front desk."""
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    # The second factor, as the product requires (OTP_REQUIRED): the code the
    # user's authenticator app shows now.
    user = get_user_model().objects.get(username=username)
    page.fill("#id_otp_token", code_for(authenticator_for(user)))
    with page.expect_navigation():
        page.click("input[type=submit]")
    # Signed in with both factors: on the desk's home page, not back at the
    # sign-in nor sent to enrol an authenticator.
    assert page.url == f"{base_url}/admin/", f"{username} was not signed in: {page.url}"


@pytest.fixture
def desk():
    """Two clinics; at ours an older review flag and today's urgent one (fever)."""
    group = ensure_clinic_staff_group()
    clinic = ClinicFactory(name="Riverside Skin Clinic", timezone="Europe/London")
    other = ClinicFactory(name="Hilltop Aesthetics", timezone="America/New_York")
    nurse = UserFactory(username="nurse", first_name="Nora", last_name="Hale", clinics=[clinic])
    outsider = UserFactory(username="outsider", clinics=[other])
    for user in (nurse, outsider):
        user.groups.add(group)

    older = PatientFactory(clinic=clinic, first_name="Olive", last_name="Grant")
    session = session_with_checkins(patient=older, practitioner=nurse)
    response_record(checkin=session.checkins.get(day=2),
                    answers={**NORMAL_ANSWERS, "rash": "moderate", "rash_trend": "worse"},
                    channel="patient_link", now=timezone.now() - timedelta(hours=5))

    urgent = PatientFactory(clinic=clinic, first_name="Maya", last_name="Quintero")
    session = session_with_checkins(patient=urgent, practitioner=nurse)
    answer(session.checkins.get(day=2), fever=True, rash="moderate", rash_trend="worse",
           swelling="moderate", photo=jpeg_upload())
    return {"nurse": nurse, "outsider": outsider, "patient": urgent,
            "escalation": Escalation.objects.get(patient=urgent)}


def test_it_lets_a_nurse_handle_todays_urgent_patient_from_the_queue(live_server, desk_page, desk,
                                                             screenshot):
    page = desk_page

    # Log in through the form; the home page is the clinic's dashboard.
    log_in(page, live_server.url, "nurse")
    assert page.locator("text=Urgent, not resolved").is_visible()
    screenshot(page, "admin-01-dashboard")

    # The queue: the urgent patient first, with the reason in words.
    page.click("text=Open the flagged-patient queue")
    first_row = page.locator("#result_list tbody tr").first
    assert "Maya Quintero" in first_row.inner_text()
    assert "URGENT" in first_row.inner_text()
    assert "Fever reported" in first_row.inner_text()
    assert "Olive Grant" in page.locator("#result_list tbody tr").nth(1).inner_text()
    screenshot(page, "admin-02-queue")

    # The patient's page: the chart, the answers, the photo.
    first_row.locator("a.patient-link").click()
    page.wait_for_load_state()
    assert page.locator("svg.symptom-chart").first.is_visible()
    answers = page.locator("table.answers").first.inner_text()
    assert "Fever" in answers and "YES" in answers
    page.wait_for_function("() => [...document.querySelectorAll('.photos img')]"
                           ".every(img => img.complete && img.naturalWidth > 0)")
    screenshot(page, "admin-03-patient")

    # Acknowledge, then resolve with a note.
    page.click("text=Acknowledge: I am handling this")
    page.wait_for_load_state()
    assert page.locator("text=Acknowledged: Maya Quintero is being looked after").is_visible()
    page.click("text=Resolve… (say what was done)")
    page.fill("textarea[name=note]", "Called Maya at 14:10: GP appointment today; "
                                     "advised paracetamol. Call back tomorrow.")
    screenshot(page, "admin-04-resolve-note")
    page.click("input[type=submit][value^=Resolve]")
    page.wait_for_load_state()
    assert page.locator("text=Resolved: Maya Quintero.").is_visible()
    screenshot(page, "admin-05-resolved")

    escalation = Escalation.objects.get(pk=desk["escalation"].pk)
    assert escalation.status == "resolved"
    assert escalation.acknowledged_by == desk["nurse"]
    assert escalation.resolution_note.startswith("Called Maya at 14:10")
    logged = set(AuditEvent.objects.filter(actor=desk["nurse"]).values_list("action", flat=True))
    assert {"view_answers", "view_photo", "acknowledge", "resolve"} <= logged


def test_it_answers_404_to_staff_of_another_clinic(live_server, desk_page, desk,
                                                         screenshot):
    log_in(desk_page, live_server.url, "outsider")

    response = desk_page.goto(
        f"{live_server.url}/admin/patients/patient/{desk['patient'].pk}/change/"
    )

    assert response.status == 404
    assert "Maya" not in desk_page.content()
    screenshot(desk_page, "admin-06-other-clinic-404")
    assert not AuditEvent.objects.filter(actor=desk["outsider"]).exists()
