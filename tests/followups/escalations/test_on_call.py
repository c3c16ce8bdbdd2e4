"""The on-call phone: an urgent flag left open is texted once, before the 2-hour email."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from followups.delivery.sweep import followups_sweep
from followups.escalations.services import escalation_acknowledge
from followups.models import Escalation
from tests.factories import response_for, session_with_checkins

pytestmark = pytest.mark.django_db

ON_CALL = "+447400123499"


@pytest.fixture
def on_call_clinic(clinic):
    clinic.on_call_phone = ON_CALL
    clinic.on_call_rota = "Mon-Fri 8-18: Amal; nights and weekends: Sam"
    clinic.full_clean()
    clinic.save()
    return clinic


def urgent(patient) -> Escalation:
    session = session_with_checkins(patient=patient)
    response_for(session.checkins.get(day=2), fever=True)
    return Escalation.objects.get(level="urgent")


def test_it_texts_the_on_call_phone_once_when_a_flag_stays_open(twilio, on_call_clinic,
                                                                 patient, staff, settings):
    escalation = urgent(patient)
    followups_sweep()
    assert len(mail.outbox) == 1 and twilio.sent() == []
    escalate_at = escalation.created_at + timedelta(minutes=settings.URGENT_ESCALATE_MINUTES)

    with time_machine.travel(escalate_at - timedelta(seconds=1)):
        followups_sweep()
    assert twilio.sent() == []
    with time_machine.travel(escalate_at):
        report = followups_sweep()
        followups_sweep()
    with time_machine.travel(escalate_at + timedelta(minutes=10)):
        followups_sweep()

    [text] = twilio.sent()
    assert report.on_call_texts_sent == 1
    assert text.to == ON_CALL
    assert f"/admin/followups/escalation/{escalation.pk}/change/" in text.body
    for word in (patient.first_name, patient.last_name, "fever", "rash"):
        assert word.lower() not in text.body.lower()
    escalation.refresh_from_db()
    assert escalation.on_call_texted_at is not None and escalation.renotified_at is None
    assert len(mail.outbox) == 1  # the 2-hour email to everyone is still to come

    with time_machine.travel(escalation.created_at + settings.URGENT_ACK_DEADLINE):
        followups_sweep()
    assert len(mail.outbox) == 2 and len(twilio.sent()) == 1


def test_an_acknowledged_flag_is_not_texted(twilio, on_call_clinic, patient, staff, settings):
    escalation = urgent(patient)
    followups_sweep()
    escalation_acknowledge(escalation=escalation, actor=staff)

    with time_machine.travel(escalation.created_at + settings.URGENT_ACK_DEADLINE):
        followups_sweep()

    assert twilio.sent() == []


def test_a_clinic_without_an_on_call_phone_gets_emails_only(twilio, patient, settings):
    escalation = urgent(patient)
    followups_sweep()
    with time_machine.travel(escalation.created_at + settings.URGENT_ACK_DEADLINE):
        followups_sweep()
    assert twilio.sent() == [] and len(mail.outbox) == 2


def test_an_alert_address_refused_for_good_texts_the_on_call_phone_at_once(
        twilio, on_call_clinic, patient, settings):
    on_call_clinic.email = "alerts+rcpt550@clinic.example"
    on_call_clinic.save()
    from tests.support.mail import FaultySMTPServer

    with FaultySMTPServer() as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
        urgent(patient)
        followups_sweep()

    [text] = twilio.sent()
    assert text.to == ON_CALL


def test_the_on_call_phone_must_take_texts(on_call_clinic):
    from django.core.exceptions import ValidationError

    on_call_clinic.on_call_phone = "+44 20 7946 0123"  # a London landline
    with pytest.raises(ValidationError) as refused:
        on_call_clinic.full_clean()
    assert "on_call_phone" in refused.value.message_dict


def test_a_number_without_its_country_code_is_read_in_the_clinics_country(on_call_clinic):
    on_call_clinic.country = "FR"
    on_call_clinic.on_call_phone = "06 12 34 56 78"
    on_call_clinic.full_clean()
    assert str(on_call_clinic.on_call_phone) == "+33612345678"


