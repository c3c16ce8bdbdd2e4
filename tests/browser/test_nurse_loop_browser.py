"""The nurse's loop in a real browser: an urgent flag, the number at hand, calls recorded, closed.

Real headless Chromium against the live server, the admin's own pages, axe
on each page the nurse works in. The clock is travelled an hour (the live
server runs in this process, so it travels too; the database's clock is the
test's, tests/conftest.py). Clicks are counted from the dashboard to the
recorded call: the desk's target is three or fewer.
Screenshots: tests/artifacts/screenshots/loop-*.png.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from followups.delivery.sweep import followups_sweep
from followups.metrics import desk_metrics
from followups.models import ContactAttempt, Escalation
from tests.admin.builders import answer, ensure_clinic_staff_group, flag_patient
from tests.browser.axe import SERIOUS, axe_violations
from tests.browser.test_admin_browser import log_in
from tests.factories import ClinicFactory, PatientFactory, UserFactory, session_with_checkins

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

START = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # a Tuesday, 14:00 in London
PHONE_NUMBER = "+447700900123"


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@pytest.fixture
def laptop(chromium):
    # The admin allows scripts from itself only: axe is injected past that policy.
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, bypass_csp=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def desk(clock):
    clinic = ClinicFactory(name="Riverside Skin Clinic", timezone="Europe/London")
    nurse = UserFactory(username="nurse", first_name="Nora", last_name="Hale", clinics=[clinic])
    nurse.groups.add(ensure_clinic_staff_group())
    # An older review flag, so "on top" means something.
    flag_patient(clinic, nurse, index=1, level="review")
    patient = PatientFactory(clinic=clinic, first_name="Maya", last_name="Quintero",
                             phone=PHONE_NUMBER, language="es")
    session = session_with_checkins(patient=patient, practitioner=nurse)
    answer(session.checkins.get(day=2), fever=True)
    return {"clinic": clinic, "nurse": nurse, "patient": patient,
            "escalation": Escalation.objects.get(patient=patient)}


def assert_axe_clean(page, name: str) -> None:
    violations = axe_violations(page, impacts=SERIOUS)
    assert violations == [], f"{name}: {violations}"


class Clicks:
    """Counts what the nurse clicks or chooses, from the dashboard on."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def click(self, selector: str) -> None:
        self.count += 1
        with self.page.expect_navigation():
            self.page.click(selector)

    def choose(self, selector: str, value: str) -> None:
        self.count += 1
        self.page.select_option(selector, value)


def test_the_nurse_calls_back_until_reached_then_resolves(live_server, laptop, desk, clock,
                                                          screenshot):
    page, escalation = laptop, desk["escalation"]
    before = desk_metrics(clinics=[desk["clinic"]], now=START + timedelta(minutes=1))
    assert before["median_minutes_to_first_contact"] is None

    # The dashboard shows the urgent flag first in "Call now", with the number.
    log_in(page, live_server.url, "nurse")
    calls = page.locator("section.calls-now li")
    assert "URGENT: Maya Quintero" in calls.first.inner_text()
    assert calls.first.locator(f'a[href="tel:{PHONE_NUMBER}"]').is_visible()
    assert_axe_clean(page, "dashboard")
    screenshot(page, "loop-01-dashboard")

    # One click opens the flag's page: the number, the language, the call form.
    clicks = Clicks(page)
    clicks.click("section.calls-now a.call-link >> nth=0")
    assert page.url.endswith(f"/admin/followups/escalation/{escalation.pk}/change/")
    tel = page.locator(f'.call-panel a.tel-link[href="tel:{PHONE_NUMBER}"]')
    assert tel.is_visible()
    assert tel.bounding_box()["y"] < 400  # at the top, not a scroll away
    assert "Speaks Spanish" in page.locator(".call-panel").inner_text()
    assert_axe_clean(page, "escalation page")
    screenshot(page, "loop-02-escalation")

    # "No answer, try again in 1 hour": the flag stays open (acknowledged) and assigned.
    clicks.choose("#id_again_in", "1h")
    clicks.click("#contact-form button[value=no_answer]")
    assert clicks.count <= 3, f"{clicks.count} clicks from the dashboard to a recorded call"
    print(f"\nclicks from the dashboard to a recorded call: {clicks.count}")
    assert page.locator("text=Call recorded: no answer.").is_visible()
    escalation.refresh_from_db()
    assert escalation.status == "acknowledged"
    assert escalation.assigned_to == desk["nurse"]
    assert escalation.next_attempt_at is not None
    assert "Assigned to: Nora Hale" in page.locator(".call-panel").inner_text()
    screenshot(page, "loop-03-no-answer")

    # Meanwhile the queue puts the review flag's older patient below, and no reminder yet.
    mail.outbox.clear()
    followups_sweep()
    assert not [m for m in mail.outbox if "call-back" in m.subject]

    # An hour later: the call-back is due, the assignee reminded, the flag back on top.
    clock.shift(timedelta(hours=1, minutes=1))
    followups_sweep()
    [reminder] = [m for m in mail.outbox if "call-back" in m.subject]
    assert reminder.to == [desk["nurse"].email]
    assert "Maya" not in reminder.body and "Quintero" not in reminder.body
    log_in(page, live_server.url, "nurse")  # the idle session ended meanwhile
    assert "call-back due" in page.locator("section.calls-now li").first.inner_text()
    page.goto(f"{live_server.url}/admin/followups/escalation/?assigned=mine")
    first_row = page.locator("#result_list tbody tr").first
    assert "Maya Quintero" in first_row.inner_text()
    assert "Call back now" in first_row.inner_text()
    assert_axe_clean(page, "queue")
    screenshot(page, "loop-04-queue-callback-due")

    # Reached; then resolved with a note: closed.
    first_row.locator("th a, td.field-level_badge a").first.click()
    page.wait_for_load_state()
    page.fill("#contact-form textarea[name=note]", "Spoke to Maya: fever gone since this "
                                                   "morning; GP seen.")
    with page.expect_navigation():
        page.click("#contact-form button[value=reached]")
    assert page.locator("text=Call recorded: reached.").is_visible()
    page.click("text=Resolve… (say what was done)")
    page.fill("textarea[name=note]", "Reached after one call-back; GP saw her. Closed.")
    with page.expect_navigation():
        page.click("input[type=submit][value^=Resolve]")
    assert page.locator("text=Resolved: Maya Quintero.").is_visible()
    screenshot(page, "loop-05-resolved")

    escalation.refresh_from_db()
    assert escalation.status == "resolved"
    assert list(ContactAttempt.objects.filter(escalation=escalation)
                .values_list("outcome", flat=True)) == ["no_answer", "reached"]

    # The patient's page: the number on top, then the whole story in one order.
    page.goto(f"{live_server.url}/admin/patients/patient/{desk['patient'].pk}/change/")
    assert page.locator(f'a.tel-link[href="tel:{PHONE_NUMBER}"]').bounding_box()["y"] < 400
    timeline = page.locator("ol.patient-timeline > li").all_inner_texts()
    assert "Resolved by Nora Hale" in timeline[0]
    assert "Call by Nora Hale: Reached" in timeline[1]
    assert "Call by Nora Hale: No answer" in timeline[2]
    assert "Urgent flag raised" in timeline[3]
    assert "Day-2 answers" in timeline[4]
    assert "Best time: around" in page.locator(".at-hand-line").inner_text()
    assert_axe_clean(page, "patient page")
    screenshot(page, "loop-06-patient-timeline")

    # The metrics moved: a first call within minutes, a resolution after the hour.
    after = desk_metrics(clinics=[desk["clinic"]], now=START + timedelta(hours=2))
    assert after["median_minutes_to_first_contact"] is not None
    assert after["median_minutes_to_first_contact"] < 30
    assert after["median_minutes_to_resolution"] >= 60
    assert after["urgent_uncontacted_2h"] == 0
    page.goto(f"{live_server.url}/admin/")
    figures = page.locator("#desk-figures").inner_text()
    assert "Urgent, no call within 2 h" in figures
    assert page.locator("svg#time-to-act").is_visible()
    assert_axe_clean(page, "dashboard after")
    screenshot(page, "loop-07-dashboard-metrics")
