"""The API's browser (Swagger UI) and DRF's browsable API work under their
Content-Security-Policy in headless Chromium: nothing refused, the document read."""

from __future__ import annotations

import pytest

from tests.browser.test_admin_browser import log_in
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def laptop(chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.refused = []  # what the policy blocked, as the browser reports it
    page.on("console", lambda message: page.refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    context.close()


@pytest.fixture
def nurse(db):
    clinic = ClinicFactory(name="Riverside Skin Clinic", timezone="Europe/London")
    PatientFactory(clinic=clinic, first_name="Maya", last_name="Quintero")
    return UserFactory(username="nurse", clinics=[clinic])


def test_the_api_browser_reads_the_document_under_its_policy(live_server, laptop, nurse,
                                                             screenshot):
    log_in(laptop, live_server.url, "nurse")

    response = laptop.goto(f"{live_server.url}/api/docs/")
    laptop.wait_for_selector(".opblock-tag", timeout=15_000)

    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert laptop.locator("text=/api/checkins/{id}/response/").count() >= 1
    assert laptop.refused == []
    screenshot(laptop, "api-docs")


def test_the_browsable_api_works_under_its_policy(live_server, laptop, nurse):
    log_in(laptop, live_server.url, "nurse")

    response = laptop.goto(f"{live_server.url}/api/patients/")
    laptop.wait_for_load_state("load")

    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "Quintero" in laptop.content()
    assert laptop.refused == []


def test_a_visitor_not_signed_in_is_sent_to_sign_in_first(live_server, laptop, nurse):
    laptop.goto(f"{live_server.url}/api/docs/")

    assert laptop.url == f"{live_server.url}/admin/login/?next=/api/docs/"
