"""The patient's check-in page: the emailed link, the form, the guidance after it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from followups.delivery.sweep import followups_sweep
from followups.escalations.messages import reason_message
from followups.link.forms import CheckInForm
from followups.models import CheckIn, CheckInResponse, Escalation
from tests.factories import NORMAL_ANSWERS, ClinicFactory, PatientFactory, session_with_checkins

pytestmark = pytest.mark.django_db

LINK = re.compile(r"/c/([A-Za-z0-9_\-]+)/")

# NORMAL_ANSWERS as a browser posts them: yes/no instead of booleans.
FORM_ANSWERS = {
    key: ("yes" if value else "no") if isinstance(value, bool) else value
    for key, value in NORMAL_ANSWERS.items()
}


def sent_checkin_with_link(patient) -> tuple[CheckIn, str]:
    """A day-2 check-in sent by the real sweep, and the token from its email."""
    session = session_with_checkins(patient=patient,
                                    performed_at=timezone.now() - timedelta(days=3))
    before = len(mail.outbox)
    followups_sweep()
    assert len(mail.outbox) == before + 1
    token = LINK.search(mail.outbox[-1].body).group(1)
    return session.checkins.get(day=2), token


def link_url(token: str) -> str:
    return f"/c/{token}/"


@pytest.fixture(autouse=True)
def generous_rate_limit(settings):
    # These tests make many requests from one address; the limit has its own test.
    settings.PATIENT_LINK_RATE_LIMIT = (100_000, 60)


@pytest.fixture
def sent(patient):
    return sent_checkin_with_link(patient)


def test_it_shows_the_form_on_every_get_without_using_the_link(client, sent):
    checkin, token = sent

    first = client.get(link_url(token))
    second = client.get(link_url(token))

    assert first.status_code == second.status_code == 200
    assert b'name="rash"' in second.content
    checkin.refresh_from_db()
    assert checkin.status == CheckIn.Status.SENT
    assert not CheckInResponse.objects.exists()


def test_it_titles_the_page_with_the_clinic_not_the_patient(client, sent, patient):
    html = client.get(link_url(sent[1])).content.decode()

    assert "<title>Skin check-in – Riverside Skin Clinic</title>" in html
    assert patient.last_name not in html
    assert patient.first_name not in html


def test_it_asks_every_answer_field_with_the_interface_values(client, sent):
    html = client.get(link_url(sent[1])).content.decode()

    for name in ("rash", "breakouts", "itching", "swelling", "pain"):
        for value in ("none", "mild", "moderate", "severe", "very_severe"):
            assert f'name="{name}" value="{value}"' in html
    for name in ("rash_trend", "breakouts_trend"):
        for value in ("better", "same", "worse"):
            assert f'name="{name}" value="{value}"' in html
    for name in ("fever", "pus", "hives"):
        for value in ("yes", "no"):
            assert f'name="{name}" value="{value}"' in html
    assert 'name="photo"' in html and 'type="file"' in html
    assert 'name="comments"' in html and 'maxlength="2000"' in html
    for wording in ("Rash or redness", "Breakouts or pimples", "Very severe",
                    "Fever (feeling hot, shivery, or a temperature)",
                    "Pus or fluid from the treated skin or spots", "Hives (raised, itchy welts)"):
        assert wording in html


def test_it_groups_each_question_in_a_fieldset_with_a_legend_and_labels_every_control(client,
                                                                                        sent):
    html = client.get(link_url(sent[1])).content.decode()

    assert html.count("<fieldset") == 10
    assert html.count("<legend>") == 10
    input_ids = re.findall(r'<(?:input|textarea)[^>]*\bid="([^"]+)"', html)
    assert len(input_ids) == 5 * 5 + 2 * 3 + 3 * 2 + 2
    for input_id in input_ids:
        assert f'for="{input_id}"' in html
    assert "<script" not in html


def test_it_records_valid_answers_once_and_shows_the_guidance(client, sent):
    checkin, token = sent

    response = client.post(link_url(token), {**FORM_ANSWERS, "comments": "Feels tight"})

    assert response.status_code == 200
    html = response.content.decode()
    # A comment waits for a person: never "healing as expected" beside it.
    assert "Thank you. A member of your clinic will read your message" in html
    assert "healing as expected" not in html
    assert "Stay out of direct sun." in html
    stored = CheckInResponse.objects.get(checkin=checkin)
    assert stored.channel == CheckInResponse.Channel.PATIENT_LINK
    assert (stored.rash, stored.rash_trend, stored.fever) == ("mild", "better", False)
    assert stored.comments == "Feels tight"
    assert not stored.photo
    checkin.refresh_from_db()
    assert checkin.status == CheckIn.Status.COMPLETED


def test_it_tells_an_urgent_patient_to_seek_help_now_with_the_clinic_phone(client, sent):
    checkin, token = sent

    html = client.post(link_url(token), {**FORM_ANSWERS, "fever": "yes"}).content.decode()

    assert "Please seek medical help now" in html
    assert "We have told your clinic about your answers." in html
    assert 'href="tel:+442079460000"' in html
    assert "+44 20 7946 0000" in html
    assert Escalation.objects.get(checkin=checkin).level == "urgent"


def test_it_tells_a_patient_to_review_that_the_clinic_will_contact_them(client, sent):
    _checkin, token = sent

    html = client.post(link_url(token), {**FORM_ANSWERS, "hives": "yes"}).content.decode()

    assert "Your clinic will contact you" in html
    assert "within one business day" in html
    assert "+44 20 7946 0000" in html


def test_it_leaves_out_the_phone_when_the_clinic_has_none(client):
    patient = PatientFactory(clinic=ClinicFactory(name="No Phone Clinic", phone=""))
    _checkin, token = sent_checkin_with_link(patient)

    html = client.post(link_url(token), FORM_ANSWERS).content.decode()

    assert "tel:" not in html
    assert "healing as expected" in html


def test_it_shows_each_clinic_its_own_thank_you_page_and_a_changed_phone_at_once(client):
    # The thank-you page is rendered once per clinic and level in each worker:
    # another clinic, or a clinic that changed its phone, must not get the old one.
    first = PatientFactory(clinic=ClinicFactory(name="Harbour Skin", phone="+44 1632 960001"))
    second = PatientFactory(clinic=ClinicFactory(name="Hill Skin", phone="+44 1632 960002"))

    first_html = client.post(link_url(sent_checkin_with_link(first)[1]),
                             FORM_ANSWERS).content.decode()
    second_html = client.post(link_url(sent_checkin_with_link(second)[1]),
                              FORM_ANSWERS).content.decode()
    first.clinic.phone = "+44 1632 960099"
    first.clinic.save()
    changed_html = client.post(link_url(sent_checkin_with_link(first)[1]),
                               FORM_ANSWERS).content.decode()

    assert "Harbour Skin" in first_html and "+44 1632 960001" in first_html
    assert "Hill Skin" in second_html and "+44 1632 960002" in second_html
    assert "Harbour Skin" not in second_html
    assert "+44 1632 960099" in changed_html and "+44 1632 960001" not in changed_html


def test_it_reshows_the_form_with_each_error_and_keeps_the_link_open(client, sent):
    checkin, token = sent
    answers = {**FORM_ANSWERS, "rash": "moderate", "rash_trend": "", "pain": "agonising"}
    del answers["fever"]

    response = client.post(link_url(token), answers)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Error: Skin check-in – Riverside Skin Clinic</title>" in html
    assert 'role="alert"' in html
    assert 'href="#id_rash_trend_0"' in html and 'href="#id_fever_0"' in html
    assert 'id="id_rash_trend_error"' in html
    assert 'aria-describedby="id_rash_trend_helptext id_rash_trend_error"' in html
    assert "You said you have a rash or redness" in html
    assert "Choose yes or no for" in html
    assert "Choose one of the answers shown." in html
    # What was answered is kept.
    assert re.search(r'name="rash" value="moderate"[^>]*checked', html)
    assert not CheckInResponse.objects.exists()
    checkin.refresh_from_db()
    assert checkin.status == CheckIn.Status.SENT
    assert client.post(link_url(token), FORM_ANSWERS).status_code == 200
    assert CheckInResponse.objects.count() == 1


def test_it_refuses_a_trend_given_for_a_symptom_the_patient_does_not_have(client, sent):
    # The answers' own rule (CheckInResponse.clean), the same as the staff API's
    # 400: shown on the form, which comes back with that trend cleared.
    checkin, token = sent

    response = client.post(link_url(token), {**FORM_ANSWERS, "rash": "none",
                                              "rash_trend": "worse"})

    form = response.context["form"]
    assert [error.code for error in form.errors.as_data()["rash_trend"]] == [
        "trend_without_symptom"
    ]
    assert "You said you have no rash or redness" in response.content.decode()
    assert form["rash_trend"].value() in (None, "")
    assert not CheckInResponse.objects.filter(checkin=checkin).exists()


def test_it_refuses_comments_over_2000_characters(client, sent):
    checkin, token = sent

    response = client.post(link_url(token), {**FORM_ANSWERS, "comments": "x" * 2001})

    assert "Keep your message to 2000 characters or fewer (it has 2001)." in (
        response.content.decode()
    )
    assert not CheckInResponse.objects.exists()


def test_it_counts_a_line_break_in_comments_as_one_character(client, sent):
    checkin, token = sent
    comments = ("x" * 99 + "\r\n") * 20  # 2000 characters as the browser counts them

    client.post(link_url(token), {**FORM_ANSWERS, "comments": comments.strip()})

    assert CheckInResponse.objects.get(checkin=checkin).comments == comments.strip().replace(
        "\r\n", "\n"
    )


def test_it_gives_response_record_the_types_it_expects():
    form = CheckInForm(data={**FORM_ANSWERS, "breakouts": "mild", "breakouts_trend": "same",
                             "pus": "yes"})

    assert form.is_valid(), form.errors
    assert form.answers() == {**NORMAL_ANSWERS, "breakouts": "mild",
                              "breakouts_trend": "same", "pus": True}
    assert form.cleaned_data["photo"] is None


def test_it_shows_the_neutral_page_for_a_used_link(client, sent):
    _checkin, token = sent
    client.post(link_url(token), FORM_ANSWERS)

    again_get = client.get(link_url(token))
    again_post = client.post(link_url(token), FORM_ANSWERS)

    assert again_get.status_code == again_post.status_code == 404
    assert b"This link is not available" in again_get.content
    assert again_get.content == again_post.content
    assert CheckInResponse.objects.count() == 1


def test_it_shows_the_neutral_page_for_an_unknown_token(client):
    response = client.get(link_url("A" * 43))

    assert response.status_code == 404
    assert b"This link is not available" in response.content


def test_it_shows_the_neutral_page_for_an_expired_link(client, sent):
    checkin, token = sent

    with time_machine.travel(checkin.expires_at + timedelta(minutes=1)):
        response = client.get(link_url(token))

    assert response.status_code == 404
    assert b"This link is not available" in response.content


def test_it_shows_the_neutral_page_for_a_tampered_token(client, sent):
    _checkin, token = sent
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    response = client.get(link_url(tampered))

    assert response.status_code == 404
    assert b"This link is not available" in response.content


@pytest.mark.parametrize("token", ["x", "A" * 5000, "%00" * 50, "..", "é" * 43, "a b"])
def test_it_shows_the_neutral_page_for_a_malformed_token(client, token):
    response = client.get(link_url(token))

    assert response.status_code == 404
    assert b"This link is not available" in response.content


def test_it_shows_unknown_expired_and_used_links_the_same_bytes(client, patient):
    used_checkin, used_token = sent_checkin_with_link(patient)
    client.post(link_url(used_token), FORM_ANSWERS)
    expired_checkin, expired_token = sent_checkin_with_link(patient)

    unknown = client.get(link_url("Zz" * 21 + "Q"))
    used = client.get(link_url(used_token))
    with time_machine.travel(expired_checkin.expires_at + timedelta(seconds=1)):
        expired = client.get(link_url(expired_token))

    assert unknown.status_code == used.status_code == expired.status_code == 404
    assert unknown.content == used.content == expired.content
    for name in ("Content-Type", "Content-Security-Policy", "Referrer-Policy", "Cache-Control"):
        assert unknown[name] == used[name] == expired[name]


def test_it_shows_the_neutral_page_when_the_session_was_cancelled(client, sent):
    checkin, token = sent
    from followups.services import checkins_cancel_for_session

    checkins_cancel_for_session(session=checkin.session)

    assert client.get(link_url(token)).status_code == 404


def test_it_does_not_serve_other_methods(client, sent):
    assert client.put(link_url(sent[1])).status_code == 405
    assert client.delete(link_url(sent[1])).status_code == 405


# Fuzzing ----------------------------------------------------------------------------

_ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60)
_SEVERITY = st.one_of(st.sampled_from(["none", "mild", "moderate", "severe", "very_severe"]),
                      _ANY_TEXT)
_TREND = st.one_of(st.sampled_from(["", "better", "same", "worse"]), _ANY_TEXT)
_YES_NO = st.one_of(st.sampled_from(["yes", "no"]), _ANY_TEXT)
_FUZZED_POST = st.fixed_dictionaries(
    {},
    optional={
        "rash": _SEVERITY, "breakouts": _SEVERITY, "itching": _SEVERITY,
        "swelling": _SEVERITY, "pain": _SEVERITY,
        "rash_trend": _TREND, "breakouts_trend": _TREND,
        "fever": _YES_NO, "pus": _YES_NO, "hives": _YES_NO,
        "comments": st.one_of(_ANY_TEXT, st.text(min_size=1990, max_size=2010)),
        "photo": st.binary(max_size=200),
        "surprise": _ANY_TEXT,
    },
)


@hypothesis_settings(max_examples=50, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])
@given(data=_FUZZED_POST)
def test_it_never_answers_a_server_error_to_any_form_post(patient, data):
    _checkin, token = sent_checkin_with_link(patient)
    if "photo" in data:
        from django.core.files.uploadedfile import SimpleUploadedFile

        data["photo"] = SimpleUploadedFile("photo.jpg", data["photo"], "image/jpeg")

    response = Client().post(link_url(token), data)

    assert response.status_code < 500
    assert response.status_code in (200, 404)


def test_each_form_has_fields_of_its_own(settings):
    settings.PHOTO_MAX_BYTES = 5 * 1024 * 1024
    five = CheckInForm()
    settings.PHOTO_MAX_BYTES = 12 * 1024 * 1024
    twelve = CheckInForm({"rash": "terrible"})
    twelve.is_valid()

    assert "up to 5 MB" in five.fields["photo"].help_text
    assert "up to 12 MB" in twelve.fields["photo"].help_text
    assert "MB" not in CheckInForm.base_fields["photo"].help_text
    assert five.fields["rash"] is not twelve.fields["rash"]
    assert twelve.errors["rash"] and not CheckInForm().errors
    assert 'value="terrible"' not in str(five["rash"])


# The safety net: comments read, guidance that fits the answers -------------------------

QUIET_FORM = {**FORM_ANSWERS, "rash": "none", "rash_trend": "", "swelling": "none"}


@pytest.mark.parametrize(("comment", "matched"), [
    ("my face is swollen shut", '"swollen"'),
    ("I have a fever of 39", '"fever"'),
    ("yellow smelly pus from the spots", '"pus", "smelly"'),
])
def test_it_flags_a_worrying_comment_on_an_otherwise_calm_form(client, sent, comment, matched):
    checkin, token = sent

    page = client.post(link_url(token), {**QUIET_FORM, "comments": comment})

    stored = CheckInResponse.objects.get(checkin=checkin)
    assert stored.assessment_level == "review"
    assert [reason["code"] for reason in stored.assessment_reasons] == ["COMMENT_CONCERN"]
    assert matched in reason_message(stored.assessment_reasons[0])
    assert Escalation.objects.get(checkin=checkin).level == "review"
    text = page.content.decode()
    assert "healing as expected" not in text
    assert "your clinic will read it" in text


def test_it_tells_a_patient_with_hives_and_swelling_to_call_the_emergency_number(client, sent):
    _checkin, token = sent

    page = client.post(link_url(token), {**QUIET_FORM, "hives": "yes", "swelling": "moderate"})

    text = page.content.decode()
    assert "call your local emergency number now" in text
    assert "You told us that" in text


def test_it_gives_a_calm_patient_the_aftercare_for_what_they_reported(client, sent):
    _checkin, token = sent

    page = client.post(link_url(token), {**QUIET_FORM, "breakouts": "mild",
                                         "breakouts_trend": "same"})

    text = page.content.decode()
    assert "healing as expected" in text
    assert "will not clog your pores" in text
    assert "cool compress" not in text


# 15:00 in London (GMT) on a Tuesday, seven days and an hour after the session:
# the day-7 check-in, due at the clinic's 10:00, has gone out, whatever the hour
# the suite runs at (on the real clock, before 10:00 it would not have yet).
DAY_7_AFTERNOON = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def day_7_afternoon():
    with time_machine.travel(DAY_7_AFTERNOON, tick=False):
        yield DAY_7_AFTERNOON


def test_it_schedules_day_10_and_no_call_after_a_mild_improving_rash_at_day_7(day_7_afternoon,
                                                                               client, patient):
    session = session_with_checkins(patient=patient,
                                    performed_at=timezone.now() - timedelta(days=7, hours=1))
    followups_sweep()
    token = LINK.search(mail.outbox[-1].body).group(1)
    day7 = session.checkins.get(day=7)
    assert day7.status == CheckIn.Status.SENT

    page = client.post(link_url(token), {**QUIET_FORM, "rash": "mild", "rash_trend": "better"})

    assert CheckInResponse.objects.get(checkin=day7).assessment_level == "watch"
    assert not Escalation.objects.exists()
    assert session.checkins.get(day=10).status == CheckIn.Status.SCHEDULED
    assert "We will check on you again on day 10" in page.content.decode()


def test_it_raises_rash_persists_for_a_rash_at_day_10(day_7_afternoon, client, patient):
    session = session_with_checkins(patient=patient,
                                    performed_at=timezone.now() - timedelta(days=7, hours=1))
    followups_sweep()
    client.post(link_url(LINK.search(mail.outbox[-1].body).group(1)),
                {**QUIET_FORM, "rash": "mild", "rash_trend": "better"})
    day10 = session.checkins.get(day=10)

    # On day 10, when its email goes: its answers are taken from then.
    with time_machine.travel(day10.due_at + timedelta(minutes=5), tick=False):
        followups_sweep()
        token = LINK.search(mail.outbox[-1].body).group(1)
        page = client.post(link_url(token), {**QUIET_FORM, "rash": "mild",
                                             "rash_trend": "same"})

    escalation = Escalation.objects.get(checkin=day10)
    assert [reason["code"] for reason in escalation.reasons] == ["RASH_PERSISTS"]
    assert "Your clinic will contact you" in page.content.decode()
