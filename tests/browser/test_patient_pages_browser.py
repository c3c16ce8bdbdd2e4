"""The patient's pages in headless Chromium: axe-clean in every language, by keyboard
alone, and the trend questions only for a symptom the patient has, with or without
JavaScript. Screenshots go to the folder the tests print."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from followups.models import CheckInResponse
from tests.browser.axe import axe_violations
from tests.browser.conftest import PHONE
from tests.factories import PatientFactory
from tests.followups.link.test_patient_form import link_url, sent_checkin_with_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TREND = "Is the rash or redness getting better or worse?"


@pytest.fixture(autouse=True)
def generous_rate_limit(settings):
    settings.PATIENT_LINK_RATE_LIMIT = (100_000, 60)


@pytest.fixture
def auditor(chromium, live_server):
    """A phone-sized page that may run axe: scripts on, the page's policy bypassed."""
    context = chromium.new_context(**PHONE, bypass_csp=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def scripted_phone(chromium, live_server):
    """A phone with JavaScript on, as most patients have (the pages have no script)."""
    context = chromium.new_context(**PHONE)
    yield context.new_page()
    context.close()


def group(page, name: str):
    return page.get_by_role("group", name=name, exact=True)


def answer(page, question: str, choice: str) -> None:
    group(page, question).get_by_label(choice, exact=True).check()


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_every_patient_page_has_no_axe_violations(auditor, live_server, clinic, language,
                                                  screenshot):
    patient = PatientFactory(clinic=clinic, language=language)
    pages = {}
    _checkin, token = sent_checkin_with_link(patient)
    url = live_server.url + link_url(token)

    auditor.goto(url)
    pages["form"] = axe_violations(auditor)
    screenshot(auditor, f"patient-form-{language}")
    auditor.locator("button[type=submit]").click()  # nothing answered: every error
    pages["form with errors"] = axe_violations(auditor)
    screenshot(auditor, f"patient-form-errors-{language}")
    auditor.goto(live_server.url + link_url("z" * 43) + f"?lang={language}")
    pages["dead link"] = axe_violations(auditor)
    # Urgent last: its alert to the clinic goes out with the next sweep.
    for level, question, choice in (("none", None, None), ("urgent", "fever", "yes")):
        # A patient of their own each: an urgent answer's alert is one more email.
        _checkin, token = sent_checkin_with_link(PatientFactory(clinic=clinic,
                                                                language=language))
        auditor.goto(live_server.url + link_url(token))
        for name in ("rash", "breakouts", "itching", "swelling", "pain"):
            auditor.locator(f"input[name={name}][value=none]").check()
        for name in ("fever", "pus", "hives"):
            value = choice if name == question else "no"
            auditor.locator(f"input[name={name}][value={value}]").check()
        auditor.locator("button[type=submit]").click()
        pages[f"guidance {level}"] = axe_violations(auditor)
        screenshot(auditor, f"patient-guidance-{level}-{language}")

    assert {name: found for name, found in pages.items() if found} == {}


def test_a_patient_completes_the_form_with_the_keyboard_alone(phone, live_server, patient,
                                                              screenshot):
    checkin, token = sent_checkin_with_link(patient)
    page = phone.page
    page.goto(live_server.url + link_url(token))

    focused = "document.activeElement"
    for _ in range(80):
        page.keyboard.press("Tab")
        kind = page.evaluate(f"[{focused}.tagName, {focused}.type || '', {focused}.name || '']")
        if kind[1] == "radio" and kind[2] in ("fever", "pus", "hives"):
            page.keyboard.press("ArrowRight")  # from "Yes" to "No"
        elif kind[1] == "radio":
            page.keyboard.press("Space")  # the first answer, "None"
        elif kind[0] == "BUTTON":
            screenshot(page, "checkin-keyboard-before-send")
            page.keyboard.press("Enter")
            break
    else:
        pytest.fail("the send button was never reached with Tab")

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you. Your skin seems to be healing as expected")
    stored = CheckInResponse.objects.get(checkin=checkin)
    assert (stored.rash, stored.pain, stored.fever, stored.hives) == ("none", "none", False, False)


@pytest.mark.parametrize("javascript", [False, True], ids=["without-js", "with-js"])
def test_it_asks_a_trend_only_for_a_symptom_the_patient_has(phone, scripted_phone, live_server,
                                                            patient, javascript, screenshot):
    page = scripted_phone if javascript else phone.page
    _checkin, token = sent_checkin_with_link(patient)
    page.goto(live_server.url + link_url(token))

    expect(group(page, TREND)).to_be_hidden()
    answer(page, "Rash or redness", "Mild")
    expect(group(page, TREND)).to_be_visible()
    screenshot(page, f"checkin-trend-shown-{'js' if javascript else 'no-js'}")
    answer(page, "Rash or redness", "None")
    expect(group(page, TREND)).to_be_hidden()
    expect(group(page, "Are the breakouts or pimples getting better or worse?")).to_be_hidden()


def test_the_error_summary_takes_the_focus_after_a_failed_send(phone, live_server, patient):
    _checkin, token = sent_checkin_with_link(patient)
    page = phone.page
    page.goto(live_server.url + link_url(token))

    page.get_by_role("button", name="Send my answers").click()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Please check your answers")
    expect(summary).to_be_focused()


def test_a_patient_switches_the_form_to_french_and_keeps_the_link(phone, live_server, patient,
                                                                  screenshot):
    _checkin, token = sent_checkin_with_link(patient)
    page = phone.page
    page.goto(live_server.url + link_url(token))

    page.get_by_role("navigation", name="Language").get_by_role("link", name="Français").click()

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Comment va votre peau aujourd’hui\u202f?")
    assert link_url(token) in page.url
    screenshot(page, "checkin-form-phone-fr")
    page.get_by_role("button", name="Envoyer mes réponses").click()
    expect(page.get_by_role("alert")).to_contain_text("Vérifiez vos réponses")


def test_the_patient_pages_find_their_icon(phone, live_server, patient):
    _checkin, token = sent_checkin_with_link(patient)

    response = phone.page.goto(live_server.url + "/favicon.ico")

    assert response.status == 200
    assert response.headers["content-type"].startswith("image/")
