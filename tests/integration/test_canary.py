"""Canary: a patient's surname, notes and symptoms never leave the database.

A patient with a surname nobody else has, distinctive notes and a distinctive
comment goes through the whole flow on a real worker and beat: session,
sweep, check-in email and text, answers with symptoms taken by phone, urgent
escalation, alert, and the text to the clinic's on-call phone when the flag
stays open. Then every email, every text (as the loopback Twilio server
received them), every Celery message and Redis key or value, and every log
line (the children's and this process's) is searched.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from followups.models import CheckIn, Escalation
from tests.support.broker import celery_producer_broker, redis_readable_dump
from tests.support.leaks import find_words
from tests.support.mail import mail_folder_messages, message_text
from tests.support.twilio import FROM_NUMBER
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

SURNAME = "Zzyzxcanary"
PATIENT_EMAIL = "p.7731@mail.example"
PATIENT_NOTES = "Xylophrax: reacted to a glycolic peel in 2023"
SESSION_NOTES = "Vexillon: extra pass on the chin"
COMMENT = "Quokkafizz blisters and weeping along the jawline since Tuesday"
# Words only the patient's record holds.
RECORD_WORDS = (SURNAME, "Xylophrax", "Vexillon", "Quokkafizz", "glycolic", "jawline")
# The answers' symptoms and the reasons they raise (FEVER, SEVERE_RASH, HIVES, ...).
SYMPTOM_WORDS = ("fever", "pus", "hives", "rash", "swelling", "itching", "breakouts", "pain",
                 "blisters", "weeping", "allergy", "infection")


PATIENT_PHONE = "+447400123477"
ON_CALL_PHONE = "+447400123478"


def test_no_surname_or_symptom_reaches_emails_texts_celery_redis_or_logs(
        clinic, staff, broker_url, broker_redis, start_worker, start_beat, mail_dir, caplog,
        twilio):
    caplog.set_level(logging.INFO)  # what production logs: the root logger is at INFO
    clinic.on_call_phone = ON_CALL_PHONE
    clinic.save()
    texts_env = {"SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": twilio.account_sid,
                 "TWILIO_AUTH_TOKEN": twilio.auth_token, "TWILIO_FROM": FROM_NUMBER,
                 "TWILIO_API_URL": twilio.url, "URGENT_ESCALATE_MINUTES": "1"}
    api = APIClient()
    api.force_authenticate(staff)
    redis_snapshots: list[str] = []

    with celery_producer_broker(broker_url):
        patient = api.post("/api/patients/", {
            "clinic": clinic.pk, "first_name": "Noor", "last_name": SURNAME,
            "email": PATIENT_EMAIL, "notes": PATIENT_NOTES, "known_allergies": ["lidocaine"],
            "phone": PATIENT_PHONE, "contact_by": "email_and_sms",
        }, format="json")
        assert patient.status_code == 201, patient.json()
        session = api.post("/api/sessions/", {
            "patient": patient.json()["id"],
            "performed_at": (timezone.now() - timedelta(days=3)).isoformat(),
            "treatment_area": "jawline and chin", "device": "Dermapen 4",
            "needle_depth_mm": "0.75", "notes": SESSION_NOTES,
        }, format="json")
        assert session.status_code == 201, session.json()
        day2 = CheckIn.objects.get(session_id=session.json()["id"], day=2)

        # Beat's sweep waits in Redis until a worker comes: look at it there.
        beat = start_beat(**texts_env)
        wait_until(lambda: broker_redis.llen("celery"), timeout=30,
                   message="beat's sweep in the queue")
        redis_snapshots += redis_readable_dump(broker_redis)
        worker = start_worker(**texts_env)
        wait_until(lambda: CheckIn.objects.filter(pk=day2.pk, status="sent").exists(),
                   timeout=60, message="the day-2 email")
        worker.stop()

        # Answers taken by phone; their "sweep now" hint waits in Redis.
        answers = api.post(f"/api/checkins/{day2.pk}/response/", {
            "rash": "severe", "rash_trend": "worse", "breakouts": "mild",
            "breakouts_trend": "same", "itching": "severe", "swelling": "moderate",
            "pain": "moderate", "fever": True, "pus": True, "hives": True, "comments": COMMENT,
        }, format="json")
        assert answers.status_code == 201, answers.json()
        assert answers.json()["assessment"]["level"] == "urgent"
        wait_until(lambda: broker_redis.llen("celery"), timeout=10,
                   message="the answers' sweep hint in the queue")
        redis_snapshots += redis_readable_dump(broker_redis)

        again = start_worker("worker-again", **texts_env)
        wait_until(lambda: Escalation.objects.filter(checkin=day2, alert_sent_at__isnull=False)
                   .exists(), timeout=60, message="the urgent alert")
        # Left open a minute (URGENT_ESCALATE_MINUTES=1): the on-call phone is texted.
        wait_until(lambda: Escalation.objects.filter(checkin=day2,
                                                     on_call_texted_at__isnull=False).exists(),
                   timeout=150, message="the on-call text")
        again.stop()
        beat.stop()

        # A call with no answer and a call-back in a few seconds: the sweep
        # reminds the assignee by email once the time has passed.
        escalation = Escalation.objects.get(checkin=day2)
        called = api.post(f"/api/escalations/{escalation.pk}/contacts/", {
            "outcome": "no_answer", "note": f"{COMMENT}; fever still there",
            "next_attempt_at": (timezone.now() + timedelta(seconds=3)).isoformat(),
        }, format="json")
        assert called.status_code == 201, called.json()
        later_beat = start_beat()
        later = start_worker("worker-later", **texts_env)
        wait_until(lambda: Escalation.objects.filter(pk=escalation.pk,
                                                     attempt_reminded_at__isnull=False)
                   .exists(), timeout=90, message="the call-back reminder")
        # Claimed (attempt_reminded_at) before it is sent: wait for the email itself.
        wait_until(lambda: len(mail_folder_messages(mail_dir)) >= 3, timeout=30,
                   message="the call-back reminder's email")
        later.stop()
        later_beat.stop()
    redis_snapshots += redis_readable_dump(broker_redis)

    emails = [message_text(message) for message in mail_folder_messages(mail_dir)]
    # The check-in email, the alert and the call-back reminder: something was looked at.
    assert len(emails) == 3
    texts = [message.body for message in twilio.sent()]
    assert [message.to for message in twilio.sent()] == [PATIENT_PHONE, ON_CALL_PHONE]
    logs = [*worker.output().splitlines(), *again.output().splitlines(),
            *beat.output().splitlines(), *later.output().splitlines(),
            *later_beat.output().splitlines(), *caplog.text.splitlines()]
    assert any("invitations sent: 1" in line for line in logs)
    assert any("followups.sweep" in text for text in redis_snapshots)

    assert find_words(emails, (*RECORD_WORDS, *SYMPTOM_WORDS)) == []
    assert find_words(texts, (*RECORD_WORDS, *SYMPTOM_WORDS, PATIENT_EMAIL)) == []
    assert find_words(redis_snapshots, (*RECORD_WORDS, *SYMPTOM_WORDS, PATIENT_EMAIL)) == []
    assert find_words(logs, (*RECORD_WORDS, *SYMPTOM_WORDS, PATIENT_EMAIL, PATIENT_PHONE)) == []
