"""Logs a fleet can use: one JSON object per line, request and task ids, nothing of the patient.

A canary patient (a surname nobody else has, distinctive notes, a distinctive
comment) goes through the production processes: gunicorn serves the
patient's link, beat and a worker send the check-in email and the urgent
alert. Then every line the three processes wrote is read: each log record is
a JSON object, the patient's request is found by the id the proxy gave it,
the sweep's lines by their task's id, and no line holds the patient's name,
notes, symptoms, email address or link token.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from followups.models import CheckIn, Escalation
from tests.factories import PatientFactory, session_with_checkins
from tests.integration.test_canary import RECORD_WORDS, SYMPTOM_WORDS
from tests.integration.test_production_stack import Browser, answers_form, csrf_cookie
from tests.support.leaks import find_words
from tests.support.mail import mail_folder_messages, message_plain_body
from tests.support.net import free_port
from tests.support.processes import process_command
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

SURNAME = "Zzyzxcanary"
PATIENT_EMAIL = "p.7731@mail.example"
COMMENT = "Quokkafizz blisters and weeping along the jawline since Tuesday"
REQUEST_ID = "proxy-req-7f3a9c2e"
# How the plain formatter starts a line: none may be left in production.
PLAIN_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) ")


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_every_log_line_is_json_with_its_ids_and_nothing_of_the_patient(
        clinic, start_worker, start_beat, celery_env, processes, mail_dir):
    patient = PatientFactory(clinic=clinic, first_name="Noor", last_name=SURNAME,
                             email=PATIENT_EMAIL, notes="Xylophrax: reacted to a glycolic peel")
    session = session_with_checkins(patient=patient,
                                    performed_at=timezone.now() - timedelta(days=3))
    type(session).objects.filter(pk=session.pk).update(notes="Vexillon: extra pass on the chin")
    day2 = session.checkins.get(day=2)
    port = free_port()
    site_url = f"http://127.0.0.1:{port}"
    env = celery_env(SITE_URL=site_url, GUNICORN_CMD_ARGS=f"--bind=127.0.0.1:{port}")
    web = processes.start("web", process_command("web"), env=env)
    worker = start_worker(SITE_URL=site_url)
    beat = start_beat(SITE_URL=site_url)

    [invitation] = wait_until(lambda: mail_folder_messages(mail_dir), timeout=90,
                              message="the day-2 email")
    link = re.search(re.escape(site_url) + r"/c/([A-Za-z0-9_-]+)/",
                     message_plain_body(invitation))
    token = link.group(1)
    browser = Browser(site_url)
    wait_until(lambda: _answers(browser), timeout=30, message="gunicorn to answer")
    page = browser.request("GET", link.group(0), headers={"X-Request-ID": REQUEST_ID})
    assert page.headers["X-Request-ID"] == REQUEST_ID
    answers = {**answers_form(page.text), "fever": "yes", "pus": "yes", "hives": "yes",
               "rash": "severe", "rash_trend": "worse", "comments": COMMENT}
    done = browser.request("POST", link.group(0), form=answers,
                           headers={"Cookie": csrf_cookie(page), "X-Request-ID": REQUEST_ID})
    assert done.status == 200, done.text[:500]
    used = browser.request("GET", link.group(0), headers={"X-Request-ID": REQUEST_ID})
    assert used.status == 404  # a used link: django.request logs it
    wait_until(lambda: Escalation.objects.filter(checkin=day2, alert_sent_at__isnull=False)
               .exists(), timeout=60, message="the urgent alert")
    assert CheckIn.objects.get(pk=day2.pk).status == "completed"
    for process in (beat, worker, web):
        process.stop()

    outputs = {name: process.output() for name, process in
               (("web", web), ("worker", worker), ("beat", beat))}
    lines = [line for text in outputs.values() for line in text.splitlines()]
    assert [line for line in lines if PLAIN_RECORD.match(line)] == []
    web_records, worker_records = records(outputs["web"]), records(outputs["worker"])
    assert records(outputs["beat"]), "beat wrote no JSON record"
    for record in (*web_records, *worker_records):
        assert {"time", "level", "logger", "message"} <= set(record)

    # The patient's requests, found by the id the proxy gave them.
    [not_found] = [r for r in web_records if r["logger"] == "django.request"]
    assert not_found["request_id"] == REQUEST_ID
    assert not_found["message"] == "Not Found: /c/[redacted]/"
    # Each sweep's and delivery's summary (beat's sweep asks a worker to deliver),
    # found by its task's id beside Celery's own line for it.
    summaries = [r for r in worker_records if r["message"].startswith(("sweep:", "deliver:"))]
    assert any("invitations sent: 1" in r["message"] for r in summaries)
    done_ids = {r["task_id"] for r in worker_records
                if r["logger"] == "celery.app.trace" and "succeeded" in r["message"]}
    assert summaries and all(r["task_id"] in done_ids for r in summaries), [
        r for r in summaries if r["task_id"] not in done_ids]
    assert all(r["task_name"] == f"followups.{r['message'].split(':')[0]}"
               for r in summaries)

    assert find_words(lines, (*RECORD_WORDS, *SYMPTOM_WORDS, PATIENT_EMAIL, token)) == []


def _answers(browser: Browser) -> bool:
    try:
        return browser.request("GET", "/healthz").status == 200
    except OSError:
        return False
