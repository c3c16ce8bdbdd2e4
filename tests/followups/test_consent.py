"""Consent: a one-click unsubscribe on every check-in email, opt-outs audited, the API's
phone numbers and channels, and the "Call instead" list that keeps the safety net."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from followups.consent.services import How, patient_opt_out
from followups.delivery.sweep import followups_sweep
from followups.models import AuditEvent, CallInstead
from tests.factories import ClinicFactory, PatientFactory, session_with_checkins

pytestmark = pytest.mark.django_db


def day2_of(patient):
    return session_with_checkins(patient=patient, performed_at=timezone.now()
                                 - timedelta(days=3)).checkins.get(day=2)


def unsubscribe_path(email) -> str:
    header = email.extra_headers["List-Unsubscribe"]
    return header.strip("<>").removeprefix("http://127.0.0.1:8000")


# The unsubscribe link ---------------------------------------------------------------


def test_every_checkin_email_carries_a_one_click_unsubscribe(patient):
    day2_of(patient)
    followups_sweep()

    [email] = mail.outbox
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = email.extra_headers["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://127.0.0.1:8000/u/") and link in email.body
    assert link in email.alternatives[0][0]


def test_opening_the_link_changes_nothing_and_shows_one_button(patient, client):
    day2_of(patient)
    followups_sweep()

    page = client.get(unsubscribe_path(mail.outbox[0]))

    assert page.status_code == 200
    assert page.content.count(b'<button type="submit"') == 1
    patient.refresh_from_db()
    assert patient.email_opted_out_at is None


def test_a_one_click_post_opts_out_of_email_and_is_audited(patient, client):
    day2_of(patient)
    followups_sweep()

    answer = client.post(unsubscribe_path(mail.outbox[0]),
                         {"List-Unsubscribe": "One-Click"})

    assert answer.status_code == 200
    patient.refresh_from_db()
    assert patient.email_opted_out_at is not None
    assert patient.email_opted_out_how == How.ONE_CLICK
    event = AuditEvent.objects.get(patient=patient, action="opt_out")
    assert event.actor is None and "email" in event.target


def test_the_confirmation_page_is_in_the_patients_language(clinic, client):
    patient = PatientFactory(clinic=clinic, language="fr")
    day2_of(patient)
    followups_sweep()

    page = client.post(unsubscribe_path(mail.outbox[0]))

    assert page["Content-Language"] == "fr"
    patient.refresh_from_db()
    assert patient.email_opted_out_how == How.LINK


def test_an_unknown_unsubscribe_link_is_the_neutral_page(client):
    assert client.post("/u/" + "A" * 43 + "/").status_code == 404


# Never messaged again, never dropped ---------------------------------------------------


def test_an_opted_out_patient_is_not_emailed_and_is_called_instead(clinic, patient, api):
    patient_opt_out(patient=patient, channel="email", how=How.LINK)
    patient.phone = ""
    patient.save()
    checkin = day2_of(patient)

    followups_sweep()

    assert mail.outbox == []
    listed = api.get("/api/calls-instead/").json()
    [row] = listed["results"]
    assert (row["patient"], row["checkin"], row["day"]) == (patient.pk, checkin.pk, 2)
    assert row["due_at"] is not None

    done = api.post(f"/api/calls-instead/{row['id']}/done/")

    assert done.status_code == 200 and done.json()["done_at"] is not None
    assert api.get("/api/calls-instead/").json()["results"] == []
    assert api.post(f"/api/calls-instead/{row['id']}/done/").status_code == 409
    assert AuditEvent.objects.filter(patient=patient, action="call_done").count() == 1


def test_another_clinics_calls_are_not_seen(patient, outsider_api):
    patient_opt_out(patient=patient, channel="email", how=How.LINK)
    patient.phone = ""
    patient.save()
    day2_of(patient)
    followups_sweep()
    call = CallInstead.objects.get()

    assert outsider_api.get("/api/calls-instead/").json()["results"] == []
    assert outsider_api.post(f"/api/calls-instead/{call.pk}/done/").status_code == 404


def test_the_calls_list_has_a_constant_number_of_queries(clinic, api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def call_one():
        patient = PatientFactory(clinic=clinic, phone="", email_opted_out_at=timezone.now())
        day2_of(patient)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/api/calls-instead/").status_code == 200
        return len(captured.captured_queries)

    call_one()
    followups_sweep()
    queries()  # the caller's clinics, then cached
    one = queries()
    for _ in range(3):
        call_one()
    followups_sweep()

    assert queries() == one
    assert len(api.get("/api/calls-instead/").json()["results"]) == 4


# Phone numbers and channels in the API --------------------------------------------------


def new_patient(api, clinic, **fields):
    return api.post("/api/patients/", {"clinic": clinic.pk, "first_name": "Léa",
                                       "last_name": "Martin", "email": "lea@mail.example",
                                       **fields}, format="json")


def test_a_number_without_a_country_code_is_read_in_the_clinics_country(api, clinic):
    clinic.country = "FR"
    clinic.save()

    created = new_patient(api, clinic, phone="06 12 34 56 78", contact_by="sms")

    assert created.status_code == 201, created.json()
    assert created.json()["phone"] == "+33612345678"
    assert created.json()["contact_by"] == "sms"


def test_a_number_that_is_not_one_is_a_400_naming_phone(api, clinic):
    refused = new_patient(api, clinic, phone="call me maybe")

    assert refused.status_code == 400 and "phone" in refused.json()


def test_a_landline_is_refused_for_texts_but_kept_for_email(api, clinic):
    refused = new_patient(api, clinic, phone="020 7946 0123", contact_by="email_and_sms")
    kept = new_patient(api, clinic, phone="020 7946 0123", contact_by="email")

    assert refused.status_code == 400 and "landline" in refused.json()["phone"][0]
    assert kept.status_code == 201 and kept.json()["phone"] == "+442079460123"


def test_texts_without_a_number_are_refused_naming_phone(api, clinic):
    refused = new_patient(api, clinic, contact_by="sms")
    assert refused.status_code == 400 and "phone" in refused.json()


def test_a_new_patient_is_reached_as_the_clinic_chose(api, superuser):
    clinic = ClinicFactory(default_contact_by="email_and_sms")
    from rest_framework.test import APIClient

    admin = APIClient()
    admin.force_authenticate(superuser)
    created = new_patient(admin, clinic, phone="07400 123456")

    assert created.status_code == 201, created.json()
    assert created.json()["contact_by"] == "email_and_sms"


def test_the_api_shows_who_opted_out_when_and_how(api, patient):
    patient_opt_out(patient=patient, channel="sms", how=How.REPLY)

    shown = api.get(f"/api/patients/{patient.pk}/").json()

    [opted] = shown["opted_out"]
    assert opted["channel"] == "sms" and opted["how"] == How.REPLY and opted["at"]
