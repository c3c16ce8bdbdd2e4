"""Reaching every patient, against a Twilio-compatible server and an SMTP server on loopback.

The product runs as a live server (real HTTP); the sweep runs in this
process with Django's SMTP backend pointed at the loopback SMTP server and
Twilio's own client pointed at the loopback Twilio server, which posts its
signed status callbacks to the live server as Twilio would, and a patient's
replies to the inbound webhook. Five patients:

- Ana (email and texts) gets one check-in by both, answers through the
  text's link, and no reminder follows;
- Ben (email) does not answer: the reminder goes by text, the other channel;
- Chloé (texts) has a number the carrier cannot reach: the failed text puts
  her on the could-not-reach queue;
- Dev (texts) replies STOP, gets no texts, replies START and gets them again;
- Eve unsubscribed from emails and has no mobile: nothing is sent, she is on
  "Call instead".

Then every forgery of either callback is refused, and changes nothing.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
import time_machine
from django.utils import timezone

from followups.consent.services import How, patient_opt_out
from followups.delivery.sweep import followups_sweep
from followups.models import CallInstead, CheckIn, Delivery, Escalation
from patients.models import Patient
from tests.factories import PatientFactory, session_with_checkins
from tests.followups.link.test_patient_form import FORM_ANSWERS
from tests.support.mail import message_plain_body
from tests.support.twilio import forgeries

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

ANA, BEN, CHLOE, DEV = "+447400123411", "+447400123412", "+447400123413", "+447400123414"


@pytest.fixture
def product(settings, live_server, smtp_server, twilio, require_postgres):
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.host, smtp_server.port
    return live_server


def day2_of(patient) -> CheckIn:
    return session_with_checkins(patient=patient, performed_at=timezone.now()
                                 - timedelta(days=3)).checkins.get(day=2)


def emails_to(smtp_server, address: str):
    return [message for message in smtp_server.received() if message["To"] == address]


def link_in(text: str) -> str:
    return re.search(r"https?://\S+/c/[A-Za-z0-9_-]+/", text).group(0)


def answer_through(link: str) -> int:
    """Answer the check-in as a patient's phone would: open the link, send the form."""
    browser = requests.Session()
    page = browser.get(link, timeout=10)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    sent = browser.post(link, data={**FORM_ANSWERS, "csrfmiddlewaretoken": token},
                        timeout=10, allow_redirects=False)
    return sent.status_code


def test_every_patient_is_reached_or_called_and_every_forgery_refused(
        product, smtp_server, twilio, clinic, settings):
    ana = PatientFactory(clinic=clinic, first_name="Ana", email="ana@mail.example", phone=ANA,
                         contact_by="email_and_sms")
    ben = PatientFactory(clinic=clinic, first_name="Ben", email="ben@mail.example", phone=BEN,
                         contact_by="email")
    chloe = PatientFactory(clinic=clinic, first_name="Chloé", email="chloe@mail.example",
                           phone=CHLOE, contact_by="sms", language="fr")
    dev = PatientFactory(clinic=clinic, first_name="Dev", email="dev@mail.example", phone=DEV,
                         contact_by="sms")
    eve = PatientFactory(clinic=clinic, first_name="Eve", email="eve@mail.example", phone="",
                         contact_by="email")
    patient_opt_out(patient=eve, channel="email", how=How.ONE_CLICK)
    checkins = {patient.first_name: day2_of(patient) for patient in (ana, ben, chloe, dev, eve)}
    start = timezone.now()

    report = followups_sweep(now=start)

    assert report.invitations_sent == 4
    # Ana: one check-in, by both, one link.
    [ana_email] = emails_to(smtp_server, ana.email)
    [ana_text] = twilio.sent(ANA)
    assert link_in(ana_text.body) in message_plain_body(ana_email)
    assert ana_email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Ben: email only, for now. Eve: nothing at all, and a call to make.
    assert len(emails_to(smtp_server, ben.email)) == 1 and twilio.sent(BEN) == []
    assert emails_to(smtp_server, eve.email) == []
    call = CallInstead.objects.get()
    assert call.patient == eve and call.checkin == checkins["Eve"]

    # Ana answers through the text's link.
    assert answer_through(link_in(ana_text.body)) in (200, 302)
    assert CheckIn.objects.get(pk=checkins["Ana"].pk).status == CheckIn.Status.COMPLETED

    # Chloé's carrier cannot reach her: Twilio's signed callback says so.
    [chloe_text] = twilio.sent(CHLOE)
    assert "Répondez ARRET" in chloe_text.body  # in her language
    assert twilio.deliver(chloe_text, "undelivered", error_code="30003") == 204
    assert CheckIn.objects.get(pk=checkins["Chloé"].pk).status == CheckIn.Status.FAILED
    assert Escalation.objects.filter(checkin=checkins["Chloé"],
                                     trigger=Escalation.Trigger.UNDELIVERED).exists()
    [ana_delivered] = [twilio.deliver(ana_text, "delivered")]
    assert ana_delivered == 204
    assert Delivery.objects.get(checkin=checkins["Ana"], channel="sms").status == "delivered"

    # Dev replies STOP to his first text.
    inbound = product.url + "/sms/twilio/inbound/"
    assert twilio.reply(inbound, sender=DEV, body="STOP") == 200
    assert Patient.objects.get(pk=dev.pk).sms_opted_out_at is not None

    # A day later: Ben's reminder goes by text; Ana, who answered, gets none;
    # Dev's reminder cannot be a text any more: it is an email.
    with time_machine.travel(start + settings.CHECKIN_REMINDER_AFTER, tick=False):
        later = followups_sweep()
    assert later.reminders_sent == 2
    [ben_reminder] = twilio.sent(BEN)
    assert "reminder" in ben_reminder.body
    assert len(emails_to(smtp_server, ana.email)) == 1 and len(twilio.sent(ANA)) == 1
    assert len(twilio.sent(DEV)) == 1 and len(emails_to(smtp_server, dev.email)) == 1

    # START: texts again, for his next check-in.
    assert twilio.reply(inbound, sender=DEV, body="START") == 200
    assert Patient.objects.get(pk=dev.pk).sms_opted_out_at is None
    dev_next = day2_of(Patient.objects.get(pk=dev.pk))
    followups_sweep()
    assert len(twilio.sent(DEV)) == 2
    assert Delivery.objects.filter(checkin=dev_next, channel="sms").exists()

    # Every forgery of either callback: 403, and nothing changed.
    sent_before = twilio.sent()
    statuses = {row.pk: row.status for row in Delivery.objects.all()}
    [ben_text] = twilio.sent(BEN)
    forged_status = forgeries(twilio, product.url + "/sms/twilio/status/",
                              twilio._status_params(ben_text, "failed", "30006"))
    forged_inbound = forgeries(twilio, inbound, twilio.inbound_params(sender=ANA, body="STOP"))
    assert set(forged_status.values()) == {403}, forged_status
    assert set(forged_inbound.values()) == {403}, forged_inbound
    assert {row.pk: row.status for row in Delivery.objects.all()} == statuses
    assert Patient.objects.get(pk=ana.pk).sms_opted_out_at is None
    assert CheckIn.objects.get(pk=checkins["Ben"].pk).status == CheckIn.Status.SENT
    assert twilio.sent() == sent_before
    # Eve was never messaged by either channel.
    assert emails_to(smtp_server, eve.email) == [] and CallInstead.objects.count() == 1
