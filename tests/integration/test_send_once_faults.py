"""Each message once, whatever fails: the database stopped or its connections cut mid-send,
workers killed, a worker stopped (SIGTERM), a clinic edited mid-send, a worker's clock
hours off, a table locked.

The real parts: a PostgreSQL cluster of the test's own (``initdb`` in a temporary
folder, on a spare port: the test stops and starts it), Redis, real
``celery -A clinic worker`` processes as the Procfile runs them, gunicorn, and the
loopback SMTP server, which counts what it accepted by ``Message-ID``. A
message may go twice only where the server accepted it and the commit that
records it failed: at most the message each sender had in hand, per fault.
Each test prints its row of the fault table (``pytest -s``).
"""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from followups.delivery.channels.email.messages import checkin_message_id
from followups.models import CheckIn, CheckInLink
from health.models import Heartbeat
from tests.admin.builders import flag_patient
from tests.factories import PatientFactory, session_with_checkins
from tests.integration.servers import throwaway_postgres
from tests.support.broker import celery_producer_broker
from tests.support.mail import FaultySMTPServer
from tests.support.net import free_port
from tests.support.processes import manage, process_command
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

# Senders a worker runs at once (the Procfile's --concurrency=2).
SENDERS_PER_WORKER = 2
LEASE_SECONDS = "10"


@pytest.fixture(scope="module")
def own_postgres():
    server = throwaway_postgres()
    yield server
    server.remove()


@pytest.fixture
def smtp():
    server = FaultySMTPServer(delay=0.05).start()
    yield server
    server.stop()


class Fleet:
    """Workers on the test's own database, sending to the loopback SMTP server."""

    def __init__(self, *, start_worker, database_url: str, broker_url: str,
                 smtp: FaultySMTPServer, server):
        self.start_worker, self.database_url, self.broker_url = (start_worker, database_url,
                                                                 broker_url)
        self.smtp, self.server, self.started = smtp, server, 0

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.database_url,
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": self.smtp.host, "EMAIL_PORT": str(self.smtp.port),
                "DELIVERY_LEASE_SECONDS": LEASE_SECONDS}

    def worker(self):
        self.started += 1
        worker = self.start_worker(f"worker{self.started}", **self.env())
        wait_until(lambda: " ready." in worker.output(), timeout=60,
                   message=f"worker{self.started} to be ready")
        return worker

    def sweep(self) -> None:
        """What beat does every minute (no expiry, as beat sends it)."""
        from followups.tasks import sweep

        with celery_producer_broker(self.broker_url):
            sweep.apply_async(retry=False)

    def rows(self, ids: list[int]) -> list[tuple]:
        with self.server.connect() as db:
            return db.execute(
                "SELECT id, status, claim_token IS NOT NULL, next_action_at <= now(), due_at "
                "FROM followups_checkin WHERE id = ANY(%s) ORDER BY id", (ids,)).fetchall()

    def settled(self, ids: list[int], *, all_sent: bool = True) -> bool:
        try:
            rows = self.rows(ids)
        except Exception:  # the database is coming back
            return False
        if all_sent:
            return all(status == "sent" and not claimed for _id, status, claimed, *_ in rows)
        # Sent, or waiting unclaimed for a due time still to come.
        return all(not claimed and (status == "sent" or (status == "scheduled" and not due))
                   for _id, status, claimed, due, _at in rows)

    def drive(self, ids: list[int], *, timeout: float = 90, all_sent: bool = True) -> None:
        """Sweep every few seconds, as beat would (faster), until every row is settled."""
        deadline = time.monotonic() + timeout
        while not self.settled(ids, all_sent=all_sent):
            if time.monotonic() > deadline:
                states = Counter((status, claimed) for _id, status, claimed, *_ in self.rows(ids))
                raise AssertionError(f"not settled: {states}")
            self.sweep()
            time.sleep(1)

    def received(self) -> Counter:
        return Counter(message["Message-ID"] for message in self.smtp.received())


@pytest.fixture
def fleet_for(start_worker, broker_url, smtp, own_postgres):
    def make(database_url: str) -> Fleet:
        return Fleet(start_worker=start_worker, database_url=database_url,
                     broker_url=broker_url, smtp=smtp, server=own_postgres)

    return make


def due_day2(clinic, count: int) -> list[CheckIn]:
    performed_at = timezone.now() - timedelta(days=3)
    return [session_with_checkins(patient=PatientFactory(clinic=clinic),
                                  performed_at=performed_at).checkins.get(day=2)
            for _ in range(count)]


def table_row(scenario: str, due: int, received: Counter) -> tuple[int, int]:
    once = sum(1 for count in received.values() if count == 1)
    duplicated = sum(count - 1 for count in received.values() if count > 1)
    print(f"\nfault table | {scenario} | due {due} | sent once {once} | "
          f"duplicated {duplicated} |")
    return once, duplicated


def assert_each_sent(fleet: Fleet, checkins: list[CheckIn], received: Counter) -> None:
    expected = {checkin_message_id(c, reminder=False) for c in checkins}
    assert set(received) == expected, "a message was lost, or one not due went"


def wait_received(fleet: Fleet, count: int, *, timeout: float = 60) -> None:
    wait_until(lambda: sum(fleet.received().values()) >= count, timeout=timeout,
               message=f"{count} messages to reach the SMTP server")


def get(url: str, *, timeout: float = 15) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def start_web_on(celery_env, processes):
    def start(database_url: str):
        port = free_port()
        web = processes.start("web", process_command("web"), env=celery_env(
            DATABASE_URL=database_url, GUNICORN_CMD_ARGS=f"--bind=127.0.0.1:{port}"))
        site = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert web.alive(), "gunicorn exited"
            try:
                return get(f"{site}/healthz", timeout=2)[0] == 200
            except OSError:
                return False

        wait_until(up, timeout=30, message="gunicorn to answer /healthz")
        return web, site

    return start


def test_postgresql_stopped_mid_sweep_duplicates_at_most_the_messages_in_hand(
        clinic, own_postgres, fleet_for, start_web_on):
    checkins = due_day2(clinic, 80)
    ids = [c.pk for c in checkins]
    database_url = own_postgres.load(connection.settings_dict)
    fleet = fleet_for(database_url)
    workers = [fleet.worker(), fleet.worker()]
    _web, site = start_web_on(database_url)

    fleet.sweep()
    wait_received(fleet, 20)
    own_postgres.stop("fast")
    stopped = time.monotonic()
    sent_while_down = sum(fleet.received().values())
    health = get(f"{site}/healthz")
    time.sleep(1)
    # Nothing leaves while the database cannot record it.
    assert sum(fleet.received().values()) == sent_while_down
    time.sleep(max(0.0, 6 - (time.monotonic() - stopped)))
    own_postgres.start()
    fleet.drive(ids)

    received = fleet.received()
    _once, duplicated = table_row("PostgreSQL stopped 6 s mid-sweep", len(ids), received)
    assert health[0] == 503 and b"database" in health[2]
    assert_each_sent(fleet, checkins, received)
    assert duplicated <= SENDERS_PER_WORKER * len(workers)
    assert max(received.values()) <= 2


def test_connections_cut_mid_sweep_duplicate_at_most_the_messages_in_hand(
        clinic, own_postgres, fleet_for):
    checkins = due_day2(clinic, 80)
    ids = [c.pk for c in checkins]
    fleet = fleet_for(own_postgres.load(connection.settings_dict))
    workers = [fleet.worker(), fleet.worker()]

    fleet.sweep()
    wait_received(fleet, 20)
    with own_postgres.connect() as db:
        cut = db.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                         "WHERE datname = 'aftercare' AND pid <> pg_backend_pid()").fetchone()[0]
    fleet.drive(ids)

    received = fleet.received()
    _once, duplicated = table_row("pg_terminate_backend on the workers' connections",
                                  len(ids), received)
    assert cut >= 1
    assert_each_sent(fleet, checkins, received)
    assert duplicated <= SENDERS_PER_WORKER * len(workers)


def test_workers_killed_three_times_mid_batch_duplicate_at_most_the_messages_in_hand(
        clinic, own_postgres, fleet_for):
    checkins = due_day2(clinic, 100)
    ids = [c.pk for c in checkins]
    fleet = fleet_for(own_postgres.load(connection.settings_dict))
    victim, _other = fleet.worker(), fleet.worker()

    fleet.sweep()
    for threshold in (15, 35, 55):
        wait_received(fleet, threshold)
        victim.kill()  # kill -9 of the worker and its pool processes
        victim = fleet.worker()
        fleet.sweep()
    fleet.drive(ids)

    received = fleet.received()
    _once, duplicated = table_row("kill -9 of a worker, three times mid-batch", len(ids),
                                  received)
    assert_each_sent(fleet, checkins, received)
    assert duplicated <= 3 * SENDERS_PER_WORKER


def test_a_time_zone_change_mid_send_duplicates_nothing(clinic, own_postgres, fleet_for,
                                                        celery_env):
    checkins = due_day2(clinic, 100)
    ids = [c.pk for c in checkins]
    database_url = own_postgres.load(connection.settings_dict)
    fleet = fleet_for(database_url)
    fleet.worker(), fleet.worker()

    fleet.sweep()
    wait_received(fleet, 20)
    # The clinic moves to New York: every day-2 check-in is due 5 hours later
    # than it was, still in the past, so each is due again at once unless a
    # sender holds it.
    manage("shell", "-c",
           "from patients.models import Clinic; from followups.sessions import clinic_update; "
           f"clinic_update(clinic=Clinic.objects.get(pk={clinic.pk}), "
           "data={'timezone': 'America/New_York'})",
           env=celery_env(DATABASE_URL=database_url))
    fleet.drive(ids)

    received = fleet.received()
    _once, duplicated = table_row("a clinic's time zone changed while sending", len(ids),
                                  received)
    assert_each_sent(fleet, checkins, received)
    assert duplicated == 0
    assert all(status == "sent" for _id, status, *_ in fleet.rows(ids))


def test_a_worker_asked_to_stop_finishes_the_message_in_hand_and_gives_the_rest_back(
        clinic, own_postgres, fleet_for, smtp):
    smtp.delay = 0.2
    checkins = due_day2(clinic, 40)
    ids = [c.pk for c in checkins]
    fleet = fleet_for(own_postgres.load(connection.settings_dict))
    worker = fleet.worker()

    fleet.sweep()
    wait_received(fleet, 6)
    os.kill(worker.pid, signal.SIGTERM)  # docker stop: the main process only
    asked = time.monotonic()
    worker.wait(timeout=30)
    took = time.monotonic() - asked
    rows = fleet.rows(ids)
    left = [row for row in rows if row[1] == "scheduled"]
    sent_before = fleet.received()

    fleet.worker()
    fleet.drive(ids)
    received = fleet.received()
    table_row(f"SIGTERM to a worker mid-batch (stopped in {took:.1f} s)", len(ids), received)
    assert took < 10, "the worker did not stop within a few seconds"
    assert left, "the stop came after the batch was done: nothing was given back"
    assert not any(claimed for _id, _status, claimed, *_ in rows), "a claim was kept"
    assert all(due for _id, _status, _claimed, due, _at in left), "released rows wait"
    assert max(sent_before.values()) == 1
    assert_each_sent(fleet, checkins, received)
    assert max(received.values()) == 1


SKEWED_WORKER = """
import sys
from datetime import UTC, datetime, timedelta

import time_machine

time_machine.travel(datetime.now(UTC) + timedelta(seconds=float(sys.argv[1])),
                    tick=True).start()
from celery.__main__ import main

sys.argv = ["celery", *sys.argv[2:]]
main()
"""


@pytest.mark.real_database_clock
@pytest.mark.parametrize("hours", [-3, 3], ids=["3h-behind", "3h-ahead"])
def test_urgent_alerts_go_at_once_from_a_worker_whose_clock_is_off_and_readyz_names_it(
        hours, clinic, staff, client, test_database_url, smtp, celery_env, processes,
        broker_url):
    smtp.delay = 0
    clinic.email = "alerts@clinic.example"
    clinic.save()
    flag_patient(clinic, staff, index=1)  # an urgent escalation: its alert is due now
    argv = process_command("worker")
    worker = processes.start("skewed-worker", [
        sys.executable, "-c", SKEWED_WORKER, str(hours * 3600), *argv[1:],
        "--hostname", "skewed@%h"], env=celery_env(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST=smtp.host, EMAIL_PORT=str(smtp.port)))
    wait_until(lambda: " ready." in worker.output(), timeout=60, message="the skewed worker")
    started = time.monotonic()

    from followups.tasks import sweep

    with celery_producer_broker(broker_url):
        sweep.apply_async(retry=False)
    wait_until(lambda: any("alerts@clinic.example" in (m["To"] or "") for m in smtp.received()),
               timeout=30, message="the urgent alert")
    took = time.monotonic() - started
    reading = Heartbeat.objects.get(name__startswith="clock worker skewed@")
    readiness = client.get("/readyz").json()["checks"]["clocks"]

    print(f"\nclock off {hours:+d} h: urgent alert out in {took:.1f} s; /readyz: "
          f"{readiness.get('error')}")
    assert took < 20
    assert abs(reading.offset_seconds - hours * 3600) < 60
    assert readiness["status"] == "failing"
    assert "worker skewed@" in readiness["error"]
    assert ("behind" if hours < 0 else "ahead of") in readiness["error"]


def test_a_locked_checkin_table_gives_patients_the_503_page_and_health_answers(
        clinic, test_database_url, start_web_on):
    if connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        # Behind a pooler in transaction mode the product sets no start-up
        # options (PgBouncer refuses them): the timeouts are the database
        # role's there (core.env.database_timeouts, docs/operations.md).
        pytest.skip("transaction pooling: the timeouts are set on the database role")
    checkin = due_day2(clinic, 1)[0]
    raw, hashed = _link(checkin)
    _web, site = start_web_on(test_database_url)
    assert get(f"{site}/c/{raw}/")[0] == 200

    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
                         user=settings["USER"] or "postgres", dbname=settings["NAME"]) as locker:
        locker.execute("LOCK TABLE followups_checkin IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        page = get(f"{site}/c/{raw}/")
        page_took = time.monotonic() - started
        healthz = get(f"{site}/healthz", timeout=10)
        readyz = get(f"{site}/readyz", timeout=10)
        locker.rollback()

    print(f"\nlocked check-in table: the patient's page {page[0]} in {page_took:.1f} s, "
          f"/healthz {healthz[0]}, /readyz {readyz[0]}")
    assert page[0] == 503
    assert page[1].get("Retry-After")
    assert b"Please try again in a few minutes" in page[2]
    assert page_took < 10
    assert healthz[0] == 200
    assert readyz[0] in (200, 503) and b'"database"' in readyz[2]
    assert get(f"{site}/c/{raw}/")[0] == 200  # and back once the lock is gone


def _link(checkin: CheckIn) -> tuple[str, str]:
    from followups.link.tokens import token_new

    raw, hashed = token_new()
    CheckIn.objects.filter(pk=checkin.pk).update(status=CheckIn.Status.SENT,
                                                 sent_at=timezone.now(),
                                                 expires_at=timezone.now() + timedelta(days=3))
    CheckInLink.objects.create(checkin=checkin, token_hash=hashed,
                               expires_at=timezone.now() + timedelta(days=3))
    return raw, hashed

