"""The patient's check-in on a phone-sized headless Chromium, as a patient uses it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from followups.models import CheckIn, CheckInResponse
from tests.followups.link.test_patient_form import link_url, sent_checkin_with_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def generous_rate_limit(settings):
    settings.PATIENT_LINK_RATE_LIMIT = (100_000, 60)


def answer(page, question: str, choice: str) -> None:
    page.get_by_role("group", name=question, exact=True).get_by_label(choice, exact=True).check()


def answer_all_normal(page) -> None:
    answer(page, "Rash or redness", "Mild")
    answer(page, "Is the rash or redness getting better or worse?", "Getting better")
    answer(page, "Breakouts or pimples", "None")
    answer(page, "Itching", "Mild")
    answer(page, "Swelling", "None")
    answer(page, "Pain", "None")
    answer(page, "Fever (feeling hot, shivery, or a temperature)", "No")
    answer(page, "Pus or fluid from the treated skin or spots", "No")
    answer(page, "Hives (raised, itchy welts)", "No")


def assert_only_our_server_was_asked(phone, live_server) -> None:
    others = [url for url in phone.requested_urls if not url.startswith(live_server.url)]
    assert others == []


def test_it_takes_a_patients_answers_on_a_phone_and_shows_guidance(phone, live_server, patient,
                                                                    screenshot):
    checkin, token = sent_checkin_with_link(patient)
    page = phone.page

    page.goto(live_server.url + link_url(token))

    expect(page).to_have_title("Skin check-in – Riverside Skin Clinic")
    expect(page.get_by_role("heading", level=1)).to_have_text("How is your skin today?")
    # Readable on a phone: no sideways scrolling, 16px+ text, large tap targets.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    font_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font_size >= 16
    choice_box = page.get_by_role("group", name="Pain").locator("label").first.bounding_box()
    assert choice_box["height"] >= 44
    screenshot(page, "checkin-form-phone")

    answer_all_normal(page)
    page.get_by_label("Anything else you want to tell your clinic? (optional)").fill(
        "A little tight in the mornings."
    )
    page.get_by_role("button", name="Send my answers").click()

    # Calm answers with a comment: a person reads it (never "healing as expected" beside it).
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you. A member of your clinic will read your message"
    )
    expect(page.get_by_text("Stay out of direct sun.")).to_be_visible()
    screenshot(page, "checkin-guidance-phone")
    stored = CheckInResponse.objects.get(checkin=checkin)
    assert (stored.rash, stored.rash_trend, stored.itching) == ("mild", "better", "mild")
    assert stored.comments == "A little tight in the mornings."
    assert_only_our_server_was_asked(phone, live_server)

    page.goto(live_server.url + link_url(token))
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is not available")


def test_it_shows_a_missing_trend_next_to_its_question(phone, live_server, patient, screenshot):
    checkin, token = sent_checkin_with_link(patient)
    page = phone.page
    page.goto(live_server.url + link_url(token))

    answer_all_normal(page)
    answer(page, "Breakouts or pimples", "Moderate")  # ...and no breakouts trend
    page.get_by_role("button", name="Send my answers").click()

    expect(page).to_have_title(re.compile(r"^Error: Skin check-in – Riverside Skin Clinic"))
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Please check your answers")
    summary_link = summary.get_by_role("link", name=re.compile("You said you have breakouts"))
    expect(summary_link).to_have_attribute("href", "#id_breakouts_trend_0")
    trend = page.get_by_role(
        "group", name="Are the breakouts or pimples getting better or worse?", exact=True
    )
    expect(trend).to_contain_text("You said you have breakouts or pimples: choose whether")
    expect(trend).to_have_accessible_description(re.compile("You said you have breakouts"))
    # What the patient already answered is still there.
    expect(page.get_by_role("group", name="Breakouts or pimples", exact=True)
           .get_by_label("Moderate", exact=True)).to_be_checked()
    summary_link.click()
    expect(page.locator("#id_breakouts_trend_0")).to_be_focused()
    trend.scroll_into_view_if_needed()
    screenshot(page, "checkin-missing-trend-phone")
    assert not CheckInResponse.objects.exists()
    checkin.refresh_from_db()
    assert checkin.status == CheckIn.Status.SENT

    answer(page, "Are the breakouts or pimples getting better or worse?", "About the same")
    page.get_by_role("button", name="Send my answers").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")
    assert CheckInResponse.objects.get(checkin=checkin).breakouts_trend == "same"
    assert_only_our_server_was_asked(phone, live_server)


def test_it_tells_a_patient_with_fever_to_get_help_now_and_how_to_call(phone, live_server,
                                                                         patient, screenshot):
    _checkin, token = sent_checkin_with_link(patient)
    page = phone.page
    page.goto(live_server.url + link_url(token))

    answer_all_normal(page)
    answer(page, "Fever (feeling hot, shivery, or a temperature)", "Yes")
    page.get_by_role("button", name="Send my answers").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Please seek medical help now")
    expect(page.get_by_text("We have told your clinic about your answers.")).to_be_visible()
    call = page.get_by_role("link", name="Call +44 20 7946 0000")
    expect(call).to_have_attribute("href", "tel:+442079460000")
    screenshot(page, "checkin-urgent-phone")
