"""Texts through Twilio's own client, against a Twilio-compatible server on loopback.

The sweep runs in this process; the server (tests/support/twilio.py) answers
the Messages API's create call as Twilio does and signs its callbacks with
the auth token, which reach the product's views through Django's test client.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from followups.delivery.channels import channel_names_for
from followups.delivery.channels.sms.gsm import is_gsm7, segments
from followups.delivery.channels.sms.keywords import Keyword, keyword_of
from followups.delivery.channels.sms.messages import checkin_text
from followups.delivery.sweep import followups_sweep
from followups.models import AuditEvent, CallInstead, CheckIn, Delivery, Escalation
from tests.factories import ClinicFactory, PatientFactory, session_with_checkins
from tests.support.twilio import FROM_NUMBER, TwilioServer

pytestmark = pytest.mark.django_db

MOBILE = "+447400123401"
STATUS = "/sms/twilio/status/"
INBOUND = "/sms/twilio/inbound/"


def day2_of(patient) -> CheckIn:
    return session_with_checkins(patient=patient, performed_at=timezone.now()
                                 - timedelta(days=3)).checkins.get(day=2)


def signed_post(client, server: TwilioServer, path: str, params: dict, settings, *,
                signature: str | None = "good"):
    headers = {}
    if signature == "good":
        signature = server.signature(settings.SITE_URL + path, params)
    if signature is not None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    return client.post(path, params, **headers)


def test_it_texts_the_checkin_to_a_patient_who_chose_texts(twilio, clinic):
    patient = PatientFactory(clinic=clinic, first_name="Ana", phone=MOBILE, contact_by="sms")
    checkin = day2_of(patient)

    report = followups_sweep()

    assert report.invitations_sent == 1
    [text] = twilio.sent()
    assert text.to == MOBILE and text.sender == FROM_NUMBER
    assert text.body.startswith(f"{clinic.name}: Ana, your 1-minute check-in http")
    assert "/c/" in text.body and text.body.endswith("Reply STOP to opt out")
    assert text.status_callback.endswith(STATUS)
    assert mail.outbox == []
    [delivery] = Delivery.objects.filter(checkin=checkin)
    assert (delivery.channel, delivery.status, delivery.provider_message_id) == (
        "sms", "queued", text.sid)


def test_both_channels_carry_one_link_to_the_same_checkin(twilio, clinic, client):
    patient = PatientFactory(clinic=clinic, phone=MOBILE, contact_by="email_and_sms")
    checkin = day2_of(patient)

    followups_sweep()

    [text] = twilio.sent()
    [email] = mail.outbox
    link = next(word for word in text.body.split() if "/c/" in word)
    assert link in email.body
    assert sorted(Delivery.objects.filter(checkin=checkin).values_list("channel", flat=True)) \
        == ["email", "sms"]
    assert client.get(link.removeprefix("http://127.0.0.1:8000")).status_code == 200


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_a_checkin_text_fits_one_gsm7_segment_in_each_language(clinic, language, settings):
    settings.SITE_URL = "https://aftercare.clinic-example.com"
    clinic.name = "Riverside Skin Clinic of the Old Town"  # cut to fit
    clinic.save()
    patient = PatientFactory(clinic=clinic, first_name="Maximiliano-José", phone=MOBILE,
                             contact_by="sms", language=language)
    checkin = day2_of(patient)

    for reminder in (False, True):
        body = checkin_text(checkin, token="x" * 43, reminder=reminder).body
        assert is_gsm7(body), body
        assert segments(body) == 1, (len(body), body)


def test_a_name_outside_the_gsm7_alphabet_costs_more_segments():
    assert segments("Zoë, your check-in " + "x" * 60) == 2
    assert segments("x" * 160) == 1 and segments("x" * 161) == 2


def test_a_landline_refused_by_twilio_fails_the_checkin_and_flags_a_call(twilio, clinic):
    patient = PatientFactory(clinic=clinic, phone=MOBILE, contact_by="sms")
    checkin = day2_of(patient)
    twilio.refuse(MOBILE, 21614)

    report = followups_sweep()

    checkin.refresh_from_db()
    assert report.failed == 1 and checkin.status == CheckIn.Status.FAILED
    assert checkin.last_error == "twilio 21614: not a mobile number (a landline)"
    assert MOBILE not in checkin.last_error
    assert Escalation.objects.filter(checkin=checkin, trigger="undelivered").exists()


def test_throttling_is_retried_after_a_backoff(twilio, clinic, settings):
    patient = PatientFactory(clinic=clinic, phone=MOBILE, contact_by="sms")
    checkin = day2_of(patient)
    twilio.throttle(1)

    now = timezone.now()
    followups_sweep(now=now)

    checkin.refresh_from_db()
    assert checkin.status == CheckIn.Status.SCHEDULED and checkin.attempts == 1
    assert checkin.last_error == "twilio 20429: throttled"
    assert checkin.next_action_at == now + settings.DELIVERY_RETRY_BACKOFF
    assert followups_sweep(now=now + timedelta(seconds=30)).invitations_sent == 0
    assert followups_sweep(now=now + settings.DELIVERY_RETRY_BACKOFF).invitations_sent == 1
    assert len(twilio.sent()) == 1 and twilio.requests == 2


def test_an_undelivered_status_fails_the_checkin_as_a_bounce_does(twilio, clinic, client,
                                                                   settings):
    patient = PatientFactory(clinic=clinic, phone=MOBILE, contact_by="sms")
    checkin = day2_of(patient)
    followups_sweep()
    [text] = twilio.sent()

    response = signed_post(client, twilio, STATUS, twilio._status_params(
        text, "undelivered", "30003"), settings)

    assert response.status_code == 204
    checkin.refresh_from_db()
    assert checkin.status == CheckIn.Status.FAILED
    assert Delivery.objects.get(checkin=checkin).status == "failed"
    assert Escalation.objects.filter(checkin=checkin, trigger="undelivered").exists()


def test_a_delivered_status_marks_the_delivery(twilio, clinic, client, settings):
    patient = PatientFactory(clinic=clinic, phone=MOBILE, contact_by="sms")
    checkin = day2_of(patient)
    followups_sweep()
    [text] = twilio.sent()

    signed_post(client, twilio, STATUS, twilio._status_params(text, "delivered", ""), settings)

    assert Delivery.objects.get(checkin=checkin).status == "delivered"


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "wrong-token"])
def test_a_forged_status_callback_is_refused_and_changes_nothing(twilio, clinic, client,
                                                                   settings, signature):
    from twilio.request_validator import RequestValidator

    patient = PatientFactory(clinic=clinic, phone=MOBILE, contact_by="sms")
    checkin = day2_of(patient)
    followups_sweep()
    [text] = twilio.sent()
    params = twilio._status_params(text, "failed", "30006")
    if signature == "wrong-token":
        signature = RequestValidator("another-token").compute_signature(
            settings.SITE_URL + STATUS, params)

    response = signed_post(client, twilio, STATUS, params, settings, signature=signature)

    assert response.status_code == 403
    checkin.refresh_from_db()
    assert checkin.status == CheckIn.Status.SENT
    assert Delivery.objects.get(checkin=checkin).status == "queued"


def test_a_stop_reply_stops_texts_and_start_resumes_them(twilio, clinic, client, settings):
    patient = PatientFactory(clinic=clinic, phone=MOBILE, contact_by="sms", email="e@mail.example")

    answer = signed_post(client, twilio, INBOUND, twilio.inbound_params(sender=MOBILE,
                                                                       body="Stop"), settings)

    assert answer.status_code == 200 and b"<Response>" in answer.content
    patient.refresh_from_db()
    assert patient.sms_opted_out_at is not None and patient.sms_opted_out_how == "text reply"
    event = AuditEvent.objects.get(patient=patient, action="opt_out")
    assert event.actor is None and event.target == "sms (text reply)"
    assert channel_names_for(patient, reminder=False) == ["email"]

    signed_post(client, twilio, INBOUND, twilio.inbound_params(sender=MOBILE, body="START"),
                settings)

    patient.refresh_from_db()
    assert patient.sms_opted_out_at is None
    assert channel_names_for(patient, reminder=False) == ["sms"]
    assert AuditEvent.objects.filter(patient=patient, action="opt_in").count() == 1


def test_an_unsigned_stop_changes_nothing(twilio, clinic, client, settings):
    patient = PatientFactory(clinic=clinic, phone=MOBILE, contact_by="sms")

    answer = signed_post(client, twilio, INBOUND, twilio.inbound_params(
        sender=MOBILE, body="STOP"), settings, signature=None)

    assert answer.status_code == 403
    patient.refresh_from_db()
    assert patient.sms_opted_out_at is None


@pytest.mark.parametrize(("body", "keyword"), [
    ("STOP", Keyword.OPT_OUT), ("arrêt", Keyword.OPT_OUT), ("Arret.", Keyword.OPT_OUT),
    ("PARAR", Keyword.OPT_OUT), ("baja", Keyword.OPT_OUT), ("unsubscribe", Keyword.OPT_OUT),
    ("START", Keyword.OPT_IN), ("Démarrer", Keyword.OPT_IN), ("ALTA", Keyword.OPT_IN),
    ("stop sending me these", None), ("my rash is worse", None), ("", None),
])
def test_it_reads_stop_and_start_in_three_languages(body, keyword):
    assert keyword_of(body) is keyword


def test_the_reminder_goes_by_the_other_channel(twilio, clinic, settings):
    patient = PatientFactory(clinic=clinic, phone=MOBILE, contact_by="email")
    checkin = day2_of(patient)
    now = timezone.now()
    followups_sweep(now=now)
    assert len(mail.outbox) == 1 and twilio.sent() == []

    followups_sweep(now=now + settings.CHECKIN_REMINDER_AFTER)

    checkin.refresh_from_db()
    assert checkin.reminder_sent_at is not None
    [text] = twilio.sent()
    assert "a reminder" in text.body and len(mail.outbox) == 1
    assert list(Delivery.objects.filter(checkin=checkin).values_list("kind", "channel")) == [
        ("invitation", "email"), ("reminder", "sms")]


def test_an_opted_out_patient_is_called_instead_and_sent_nothing(twilio, clinic):
    patient = PatientFactory(clinic=clinic, phone="", contact_by="email",
                             email_opted_out_at=timezone.now(), email_opted_out_how="staff")
    checkin = day2_of(patient)

    followups_sweep()

    checkin.refresh_from_db()
    assert mail.outbox == [] and twilio.sent() == []
    assert checkin.status == CheckIn.Status.MISSED
    assert "call instead" in checkin.last_error
    call = CallInstead.objects.get(checkin=checkin)
    assert call.patient == patient and call.done_at is None


def test_a_patient_whose_chosen_channel_is_closed_is_reached_by_the_other(clinic):
    patient = PatientFactory(clinic=clinic, phone=MOBILE, contact_by="sms",
                             sms_opted_out_at=timezone.now())
    assert channel_names_for(patient, reminder=False) == ["email"]


def test_texts_go_out_at_the_clinics_send_hour(twilio, clinic):
    with time_machine.travel(datetime(2026, 3, 10, 6, 0, tzinfo=UTC),
                             tick=False):
        patient = PatientFactory(clinic=ClinicFactory(send_hour=10), phone=MOBILE,
                                 contact_by="sms")
        checkin = session_with_checkins(patient=patient, performed_at=timezone.now()
                                        - timedelta(days=2)).checkins.get(day=2)
        assert followups_sweep().invitations_sent == 0
    with time_machine.travel(datetime(2026, 3, 10, 10, 0, 5, tzinfo=UTC),
                             tick=False):
        assert followups_sweep().invitations_sent == 1
    assert checkin.due_at.hour == 10 and len(twilio.sent()) == 1
