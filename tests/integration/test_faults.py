"""Faults: Redis stopped, hung or flushed, and a worker killed in the middle of a send.

PostgreSQL is the record of what is due; Redis only carries "sweep now"
hints. So whatever happens to Redis or to a worker, the next sweep must send
everything, nothing may stay claimed past its lease, and an email sent twice
(at most once more, after a crash) carries the same Message-ID.

Redis is never stopped for real: the shared server serves other tests. A
worker (or this process's producer) talks to it through a proxy that the test
cuts off or freezes, and the flush empties the test's own database only.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import Counter
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from followups.delivery.channels.email.messages import checkin_message_id
from followups.delivery.sweep import followups_sweep
from followups.models import CheckIn, Escalation
from followups.tasks import sweep
from tests.factories import PatientFactory, session_with_checkins
from tests.support.broker import celery_producer_broker
from tests.support.mail import mail_folder_messages, recorded_emails
from tests.support.net import SwitchableTCPProxy
from tests.support.processes import service_env
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

URGENT_ANSWERS = {
    "rash": "none", "breakouts": "none", "itching": "none", "swelling": "mild",
    "pain": "mild", "fever": True, "pus": False, "hives": False,
}


def due_day2(clinic, count: int = 1) -> list[CheckIn]:
    performed_at = timezone.now() - timedelta(days=3)
    return [session_with_checkins(patient=PatientFactory(clinic=clinic),
                                  performed_at=performed_at).checkins.get(day=2)
            for _ in range(count)]


def enqueue_sweep(url: str) -> None:
    """What beat does every minute; raises if the broker does not take it."""
    with celery_producer_broker(url):
        sweep.apply_async(retry=False)


def broker_state(client) -> str:
    keys = sorted(key.decode() for key in client.keys("*"))
    return f"{client.llen('celery')} queued, {client.hlen('unacked')} unacked, keys {keys}"


def all_sent(checkins) -> bool:
    return not CheckIn.objects.filter(pk__in=[c.pk for c in checkins]).exclude(
        status=CheckIn.Status.SENT).exists()


def broker_proxy(broker_url: str) -> tuple[SwitchableTCPProxy, str]:
    parts = urlsplit(broker_url)
    proxy = SwitchableTCPProxy(parts.hostname, parts.port or 6379)
    return proxy, proxy.url(parts.path.lstrip("/") or "0")


def in_thread(work, *, timeout: float):
    """Run ``work`` (a request) in a thread; return (finished, result or error)."""
    outcome = {}

    def run():
        try:
            outcome["result"] = work()
        except BaseException as error:
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    return thread, outcome


def post_session(api, patient_id: int, *, days_ago: int = 3):
    return api.post("/api/sessions/", {
        "patient": patient_id,
        "performed_at": (timezone.now() - timedelta(days=days_ago)).isoformat(),
        "treatment_area": "face", "device": "Dermapen 4", "needle_depth_mm": "0.50",
    }, format="json")


def post_patient(api, clinic, n: int):
    return api.post("/api/patients/", {
        "clinic": clinic.pk, "first_name": f"Rowan{n}", "last_name": "Outage",
        "email": f"rowan{n}@mail.example",
    }, format="json")


def day2_of(session_response) -> int:
    return next(c["id"] for c in session_response.json()["checkins"] if c["day"] == 2)


def test_it_takes_sessions_and_answers_while_redis_is_down_then_sends_everything(
        clinic, staff, broker_url, broker_redis, start_worker, mail_dir, caplog):
    proxy, url = broker_proxy(broker_url)  # never started: its port refuses connections
    try:
        worker = start_worker(CELERY_BROKER_URL=url)
        api = APIClient()
        api.force_authenticate(staff)
        caplog.set_level(logging.WARNING, logger="followups.delivery.enqueue")

        with celery_producer_broker(url):
            # Redis is down: the answers' "sweep now" hint cannot be enqueued.
            def during_outage():
                patients = [post_patient(api, clinic, n) for n in range(2)]
                sessions = [post_session(api, p.json()["id"]) for p in patients]
                answers = api.post(f"/api/checkins/{day2_of(sessions[1])}/response/",
                                   URGENT_ANSWERS, format="json")
                return patients, sessions, answers

            thread, outcome = in_thread(during_outage, timeout=60)
            assert not thread.is_alive(), "a request hung while Redis was down"
            patients, sessions, answers = outcome["result"]
            assert [r.status_code for r in (*patients, *sessions, answers)] == [201] * 5
            assert answers.json()["assessment"]["level"] == "urgent"
            assert "could not enqueue a sweep (OperationalError)" in caplog.text
            assert broker_redis.llen("celery") == 0

            # Redis is back: the next hint gets through, and that one sweep
            # sends everything, the backlog from the outage included.
            proxy.up()
            failed_enqueues = caplog.text.count("could not enqueue")
            patient = post_patient(api, clinic, 3)
            session = post_session(api, patient.json()["id"])
            answers = api.post(f"/api/checkins/{day2_of(session)}/response/", URGENT_ANSWERS,
                               format="json")
            assert answers.status_code == 201
            assert caplog.text.count("could not enqueue") == failed_enqueues, caplog.text

        invitation = CheckIn.objects.get(pk=day2_of(sessions[0]))
        try:
            wait_until(lambda: all_sent([invitation]) and not Escalation.objects.filter(
                           alert_sent_at__isnull=True).exists(),
                       timeout=60, message="the worker's sweep after Redis came back")
        except TimeoutError as error:
            raise AssertionError(f"{error}; broker: {broker_state(broker_redis)}") from None
        ids = Counter(message["Message-ID"] for message in mail_folder_messages(mail_dir))
        assert ids[checkin_message_id(invitation, reminder=False)] == 1
        assert Escalation.objects.filter(level="urgent").count() == 2
        assert sum(ids.values()) == 3 and set(ids.values()) == {1}
        assert "Connected to redis" in worker.output()
    finally:
        proxy.down()


def test_a_request_does_not_hang_when_redis_accepts_but_never_answers(clinic, staff, patient,
                                                                      broker_url):
    proxy, url = broker_proxy(broker_url)
    proxy.hang()
    checkin = session_with_checkins(patient=patient).checkins.get(day=2)
    api = APIClient()
    api.force_authenticate(staff)
    try:
        with celery_producer_broker(url):
            thread, outcome = in_thread(
                lambda: api.post(f"/api/checkins/{checkin.pk}/response/", URGENT_ANSWERS,
                                 format="json"),
                timeout=12,
            )
            hung = thread.is_alive()
            proxy.down()  # frees a hung request, so its thread and connection end
            thread.join(15)
    finally:
        proxy.down()
    assert not hung, "the request was still waiting for Redis after 12 seconds"
    assert outcome["result"].status_code == 201


def test_it_loses_nothing_when_the_broker_is_flushed_mid_run(clinic, broker_database,
                                                             start_worker, start_beat, mail_dir):
    first = due_day2(clinic)
    start_worker()
    beat = start_beat()
    wait_until(lambda: all_sent(first), timeout=60, message="the first beat sweep")
    sweeps_sent = "Sending due task followups-sweep"  # beat sends other minutely tasks too
    wait_until(lambda: sweeps_sent in beat.output(), timeout=5, message="beat's log")

    # Queued and unacked tasks, the queue's bindings: all gone. (FLUSHDB of
    # the broker's database: FLUSHALL would empty other tests' databases.)
    broker_database.flush()
    later = due_day2(clinic, 3)

    wait_until(lambda: all_sent(later), timeout=90, message="the next beat sweep after the flush")
    ids = [message["Message-ID"] for message in mail_folder_messages(mail_dir)]
    assert sorted(ids) == sorted(checkin_message_id(c, reminder=False) for c in first + later)
    assert beat.output().count(sweeps_sent) == 2


def test_a_sweep_killed_mid_send_is_finished_after_its_lease_with_the_same_message_id(
        clinic, test_database_url, var_dir, mail_dir, recorded_mail, processes):
    checkins = due_day2(clinic, 3)
    env = service_env(database_url=test_database_url, broker_url="memory://", var_dir=var_dir,
                      EMAIL_BACKEND="tests.support.mail.SlowFileBackend",
                      EMAIL_FILE_PATH=str(mail_dir), AFTERCARE_TEST_SEND_STALL_SECONDS="60")
    dispatch = processes.start("dispatch_checkins",
                               [sys.executable, "manage.py", "dispatch_checkins"], env=env)

    # The first email is out; the process hangs before recording it. Kill it.
    out = wait_until(lambda: [m for m in mail_folder_messages(mail_dir) if m["Message-ID"]],
                     timeout=30, message="the first email to be written")
    dispatch.kill()
    assert not dispatch.alive()
    resent_id = out[0]["Message-ID"]

    rows = list(CheckIn.objects.filter(pk__in=[c.pk for c in checkins]))
    assert {row.status for row in rows} == {CheckIn.Status.SCHEDULED}
    assert all(row.claim_token and row.next_action_at > timezone.now() for row in rows)
    # While the dead sweep's lease runs, nobody else sends its rows.
    assert followups_sweep().invitations_sent == 0
    assert recorded_emails() == []

    lease_end = max(row.next_action_at for row in rows)
    with time_machine.travel(lease_end + timedelta(seconds=5)):
        report = followups_sweep()

    assert report.invitations_sent == 3
    assert not CheckIn.objects.filter(pk__in=[c.pk for c in checkins]).exclude(
        status=CheckIn.Status.SENT).exists()
    assert not CheckIn.objects.filter(pk__in=[c.pk for c in checkins],
                                      claim_token__isnull=False).exists()
    ids = Counter([resent_id, *(m["Message-ID"] for m in recorded_emails())])
    expected = {checkin_message_id(c, reminder=False) for c in checkins}
    assert set(ids) == expected
    # The crash costs at most one repeat, and the repeat is the same message.
    assert ids[resent_id] == 2
    assert sorted(ids.values()) == [1, 1, 2]


def test_nothing_stays_claimed_when_redis_stops_under_a_worker_mid_sweep(
        clinic, broker_url, start_worker, mail_dir):
    proxy, url = broker_proxy(broker_url)
    proxy.up()
    try:
        checkins = due_day2(clinic, 4)
        worker = start_worker(CELERY_BROKER_URL=url,
                              EMAIL_BACKEND="tests.support.mail.SlowFileBackend",
                              AFTERCARE_TEST_SEND_STALL_SECONDS="1")
        wait_until(lambda: " ready." in worker.output(), timeout=30, message="the worker")
        enqueue_sweep(broker_url)

        wait_until(lambda: mail_folder_messages(mail_dir), timeout=30,
                   message="the worker's sweep to start sending")
        proxy.down()  # Redis stops while the sweep is half way through

        wait_until(lambda: all_sent(checkins), timeout=30,
                   message="the sweep to finish without Redis")
        wait_until(lambda: "Connection to broker lost" in worker.output(), timeout=30,
                   message="the worker to notice Redis is gone")
        proxy.up()
        wait_until(lambda: worker.output().count("Connected to redis") >= 2 or not worker.alive(),
                   timeout=30, message="the worker to reconnect (or exit)")
        # A sweep acknowledged late used to take the worker down with Redis.
        assert worker.alive(), "the worker exited when Redis went away mid-sweep"

        # The worker reconnects by itself and takes the next sweep.
        newcomer = due_day2(clinic)
        enqueue_sweep(broker_url)
        wait_until(lambda: all_sent(newcomer), timeout=60,
                   message="a sweep after Redis came back")
    finally:
        proxy.down()

    assert not CheckIn.objects.filter(claim_token__isnull=False).exists()
    ids = [message["Message-ID"] for message in mail_folder_messages(mail_dir)]
    assert sorted(ids) == sorted(checkin_message_id(c, reminder=False)
                                 for c in checkins + newcomer)


def test_a_sweep_that_cannot_ask_the_workers_delivers_the_due_checkins_itself(
        clinic, recorded_mail):
    from tests.support.net import free_port

    checkins = due_day2(clinic, 2)
    # Nothing listens here: sending the delivery tasks fails as with Redis down.
    with celery_producer_broker(f"redis://127.0.0.1:{free_port()}/0"):
        report = followups_sweep(fan_out=True)

    assert report.deliveries_asked == 0 and report.invitations_sent == 2
    assert all_sent(checkins)
