"""The staff pages in headless Chromium, signed in with a password and an authenticator
code: no critical or serious axe-core violation on the dashboard, the queue, a patient,
a session and a check-in; usable on a 390 px phone."""

from __future__ import annotations

import pytest

from followups.models import CheckIn
from tests.admin.builders import build_world, ensure_clinic_staff_group
from tests.browser.axe import SERIOUS, axe_violations
from tests.browser.conftest import PHONE
from tests.browser.test_admin_browser import log_in
from tests.factories import ClinicFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def laptop(chromium):
    # The admin allows scripts from itself only: axe is injected past that policy.
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, bypass_csp=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def staff_phone(chromium):
    context = chromium.new_context(**PHONE)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def desk():
    """A nurse at one clinic with three urgent patients, a cluster and a failed email."""
    clinic = ClinicFactory(name="Riverside Skin Clinic", timezone="Europe/London")
    nurse = UserFactory(username="nurse", first_name="Nora", last_name="Hale", clinics=[clinic])
    nurse.groups.add(ensure_clinic_staff_group())
    world = build_world(clinic, nurse, tag="Own")
    return {"nurse": nurse, "patient": world.patients[0]}


def _pages(desk) -> dict[str, str]:
    patient = desk["patient"]
    session = patient.sessions.get()
    checkin = CheckIn.objects.filter(session=session, day=2).get()
    return {
        "dashboard": "/admin/",
        "queue": "/admin/followups/escalation/",
        "patient": f"/admin/patients/patient/{patient.pk}/change/",
        "session": f"/admin/patients/treatmentsession/{session.pk}/change/",
        "new session": f"/admin/patients/treatmentsession/add/?patient={patient.pk}",
        "check-in": f"/admin/followups/checkin/{checkin.pk}/change/",
        "add patient": "/admin/patients/patient/add/",
    }


def test_the_staff_pages_have_no_critical_or_serious_axe_violation(live_server, laptop, desk,
                                                                   screenshot):
    log_in(laptop, live_server.url, "nurse")

    found = {}
    for name, path in _pages(desk).items():
        response = laptop.goto(live_server.url + path)
        # Served to the signed-in nurse, not a sign-in page after a redirect.
        assert (response.status, response.url) == (200, live_server.url + path), name
        violations = axe_violations(laptop, impacts=SERIOUS)
        if violations:
            found[name] = violations
        screenshot(laptop, f"staff-{name.replace(' ', '-')}")

    assert found == {}


def test_the_queue_and_the_patient_page_fit_a_phone(live_server, staff_phone, desk, screenshot):
    log_in(staff_phone, live_server.url, "nurse")
    width = PHONE["viewport"]["width"]

    staff_phone.goto(f"{live_server.url}/admin/followups/escalation/")
    why = staff_phone.locator("#result_list tbody tr").first.locator("ul.reasons")
    box = why.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    screenshot(staff_phone, "staff-queue-phone")

    staff_phone.goto(f"{live_server.url}/admin/patients/patient/{desk['patient'].pk}/change/")
    assert staff_phone.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(staff_phone, "staff-patient-phone")
