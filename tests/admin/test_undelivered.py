"""Emails that never arrived are a call to make: the queue and the dashboard say so."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from followups.delivery.sweep import followups_sweep
from followups.models import CheckIn, Escalation
from tests.admin.builders import flag_patient
from tests.factories import PatientFactory, session_with_checkins

pytestmark = pytest.mark.django_db


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses every recipient for good (an SMTP 550)."""

    def send_messages(self, messages):
        import smtplib

        raise smtplib.SMTPRecipientsRefused(
            {address: (550, b"5.1.1 No such user") for m in messages for address in m.to})


def figures(response) -> dict:
    return {figure.label: figure for figure in response.context["dashboard"].figures}


def test_a_patient_whose_email_was_refused_is_on_the_queue_and_the_dashboard(
        staff_client, clinic, settings):
    settings.EMAIL_BACKEND = "tests.admin.test_undelivered.RefusingBackend"
    patient = PatientFactory(clinic=clinic, first_name="Ines")
    checkin = session_with_checkins(patient=patient, performed_at=timezone.now()
                                    - timedelta(days=3)).checkins.get(day=2)

    followups_sweep()

    assert CheckIn.objects.get(pk=checkin.pk).status == CheckIn.Status.FAILED
    shown = figures(staff_client.get("/admin/"))
    assert shown["Could not reach the patient"].value == "1"
    queue = staff_client.get(shown["Could not reach the patient"].url)
    assert [e.patient_id for e in queue.context["cl"].result_list] == [patient.pk]
    page = staff_client.get("/admin/followups/escalation/").content.decode()
    assert "Could not reach the patient" in page and "Ines" in page


def test_an_urgent_alert_that_could_not_be_sent_is_shown_on_the_dashboard(
        staff_client, clinic, staff, settings):
    settings.EMAIL_BACKEND = "tests.admin.test_undelivered.RefusingBackend"
    clinic.email = "alerts@clinic.example"
    clinic.save()
    flag_patient(clinic, staff, index=1)  # urgent: its alert goes out with the next sweep

    followups_sweep()

    escalation = Escalation.objects.get(level="urgent")
    assert escalation.alert_sent_at is None and escalation.next_action_at is None
    assert "550" in escalation.last_error
    shown = figures(staff_client.get("/admin/"))
    assert shown["Urgent alerts not delivered"].value == "1"
    listed = staff_client.get(shown["Urgent alerts not delivered"].url)
    assert [e.pk for e in listed.context["cl"].result_list] == [escalation.pk]


class RefusingClinicAddressBackend(BaseEmailBackend):
    """A mail server whose clinic alert mailbox is gone (550); staff mailboxes work."""

    delivered: list[list[str]] = []

    def send_messages(self, messages):
        for message in messages:
            if "alerts@clinic.example" in message.to:
                raise smtplib.SMTPRecipientsRefused(
                    {"alerts@clinic.example": (550, b"5.1.1 No such user")})
            type(self).delivered.append(list(message.to))
        return len(messages)


def test_a_refused_alert_address_alerts_every_staff_member_at_once_and_shows_red(
        staff_client, clinic, staff, settings):
    settings.EMAIL_BACKEND = "tests.admin.test_undelivered.RefusingClinicAddressBackend"
    RefusingClinicAddressBackend.delivered = []
    clinic.email = "alerts@clinic.example"
    clinic.save()
    escalation = flag_patient(clinic, staff, index=1)

    followups_sweep()

    escalation = Escalation.objects.get(pk=escalation.pk)
    assert RefusingClinicAddressBackend.delivered == [[staff.email]]
    assert escalation.renotified_at is not None and escalation.alert_sent_at is None
    assert escalation.next_action_at is None and "550" in escalation.last_error
    shown = figures(staff_client.get("/admin/"))
    assert shown["Urgent alerts not delivered"].value == "1"
    assert shown["Urgent alerts not delivered"].tone == "urgent"  # drawn in red
