"""/readyz: each part the product needs, reported as JSON, and the sweeps' heartbeat."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from core.clock import database_now
from health.clock import clock_record
from health.heartbeat import sweep_heartbeat_last, sweep_heartbeat_record
from health.models import Heartbeat
from tests.support.net import free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = {"database", "broker", "storage", "cache", "sweeps", "mail", "clocks"}


@pytest.fixture
def broker_elsewhere():
    """Point this process's Celery producer at ``url`` (readiness asks the producer's broker)."""
    from kombu import pools

    from clinic.celery import app

    saved = app.conf.get("broker_write_url")

    def point(url: str) -> None:
        app._pool = None
        pools.reset()
        app.conf.broker_write_url = url

    yield point
    point(saved)


# This process's own clock is one of the parts readiness checks: --clock-at moves it.
@pytest.mark.real_database_clock
def test_it_is_ready_when_every_part_answers_and_a_sweep_just_finished(client):
    sweep_heartbeat_record(now=database_now())

    reply = client.get("/readyz")

    assert reply.status_code == 200, reply.json()
    body = reply.json()
    assert body["status"] == "ok"
    assert body["checks"] == {name: {"status": "ok"} for name in CHECKS}
    assert body["last_sweep_at"] == sweep_heartbeat_last().isoformat()
    assert body["sweep_stale_after_seconds"] == 300
    assert reply["Cache-Control"].startswith("max-age=0")


@pytest.mark.real_database_clock
def test_it_is_not_ready_before_any_sweep_has_finished(client):
    reply = client.get("/readyz")

    assert reply.status_code == 503
    body = reply.json()
    assert body["status"] == "failing"
    assert body["checks"]["sweeps"] == {"status": "failing",
                                        "error": "Unavailable: no sweep has finished yet"}
    assert body["last_sweep_at"] is None
    assert {name for name, check in body["checks"].items() if check["status"] == "ok"} == (
        CHECKS - {"sweeps"})


def test_it_turns_red_when_sweeps_stop_for_five_minutes_by_the_databases_clock(client):
    now = database_now()
    sweep_heartbeat_record(now=now - timedelta(minutes=4, seconds=50))
    fresh = client.get("/readyz").json()["checks"]["sweeps"]
    last = now - timedelta(minutes=5, seconds=1)
    sweep_heartbeat_record(now=last)

    reply = client.get("/readyz")

    assert fresh == {"status": "ok"}
    assert reply.status_code == 503
    assert reply.json()["checks"]["sweeps"]["error"] == (
        f"Unavailable: no sweep has finished since {last.isoformat()}")


@pytest.mark.real_database_clock  # measures this process's clock
def test_a_web_process_whose_clock_is_wrong_reads_the_sweeps_by_the_databases(client):
    sweep_heartbeat_record(now=database_now())

    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        reply = client.get("/readyz")

    assert reply.json()["checks"]["sweeps"] == {"status": "ok"}


@pytest.mark.real_database_clock  # measures this process's clock
def test_it_names_a_worker_whose_clock_is_three_hours_behind(client):
    now = database_now()
    Heartbeat.objects.create(name="clock worker celery@slow", at=now,
                             offset_seconds=-3 * 3600)
    Heartbeat.objects.create(name="clock worker celery@right", at=now, offset_seconds=0.4)
    Heartbeat.objects.create(name="clock worker celery@gone", at=now - timedelta(minutes=11),
                             offset_seconds=7200)

    reply = client.get("/readyz")

    assert reply.status_code == 503
    assert reply.json()["checks"]["clocks"] == {
        "status": "failing",
        "error": "Unavailable: clock off: worker celery@slow is 10800 s behind the database"}


@pytest.mark.real_database_clock  # measures this process's clock
def test_a_worker_records_its_own_clock_once_a_minute():
    with time_machine.travel(timezone.now() - timedelta(hours=3)):
        first = clock_record(process="worker celery@test")
        again = clock_record(process="worker celery@test")

    row = Heartbeat.objects.get(name="clock worker celery@test")
    assert first is not None and abs(first.total_seconds() + 3 * 3600) < 60
    assert again is None
    assert abs(row.offset_seconds - first.total_seconds()) < 1


@pytest.mark.real_database_clock  # measures this process's clock
def test_it_names_this_web_process_when_its_own_clock_is_ahead(client):
    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        reply = client.get("/readyz")

    error = reply.json()["checks"]["clocks"]["error"]
    assert reply.status_code == 503
    assert error.startswith("Unavailable: clock off: web ") and "ahead of the database" in error


def test_the_latest_sweep_wins_whichever_worker_ran_it():
    first = timezone.now() - timedelta(minutes=3)
    sweep_heartbeat_record(now=first)
    sweep_heartbeat_record(now=first + timedelta(minutes=1))

    assert sweep_heartbeat_last() == first + timedelta(minutes=1)


def test_it_turns_red_when_the_broker_does_not_answer(client, broker_elsewhere):
    sweep_heartbeat_record(now=database_now())
    broker_elsewhere(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there

    reply = client.get("/readyz")

    assert reply.status_code == 503
    assert reply.json()["checks"]["broker"] == {
        "status": "failing",
        "error": "Unavailable: the broker does not answer or refuses writes"}


def test_it_turns_red_when_the_storage_cannot_be_written(client, settings, tmp_path):
    sweep_heartbeat_record(now=database_now())
    read_only = tmp_path / "read-only"
    read_only.write_text("a file where the storage expects a folder")
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(read_only), "base_url": None},
    }}

    reply = client.get("/readyz")

    assert reply.status_code == 503
    assert reply.json()["checks"]["storage"]["status"] == "failing"


def test_readiness_names_no_address_or_secret(client, settings):
    sweep_heartbeat_record(now=database_now())

    text = client.get("/readyz").content.decode()

    assert settings.SECRET_KEY not in text
    assert "127.0.0.1" not in text and "postgres" not in text


def test_liveness_stays_cheap_and_green_when_sweeps_stop(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        reply = client.get("/healthz")

    assert reply.status_code == 200
    assert reply.json() == {"status": "ok"}


def test_the_dashboard_tells_a_superuser_that_sweeps_stopped(client, superuser):
    client.force_login(superuser)
    sweep_heartbeat_record(now=timezone.now() - timedelta(minutes=12))

    page = client.get(reverse("admin:index")).content.decode()

    assert 'id="sweeps-stale"' in page
    assert "Check-ins are not going out" in page


def test_the_dashboard_says_nothing_while_sweeps_run(client, superuser):
    client.force_login(superuser)
    sweep_heartbeat_record(now=database_now())

    assert 'id="sweeps-stale"' not in client.get(reverse("admin:index")).content.decode()


def test_clinic_staff_are_not_shown_the_operators_warning(client, staff):
    from tests.admin.builders import ensure_clinic_staff_group

    staff.groups.add(ensure_clinic_staff_group())
    client.force_login(staff)

    assert 'id="sweeps-stale"' not in client.get(reverse("admin:index")).content.decode()


def test_it_turns_red_when_redis_is_out_of_memory_though_it_answers_pings(
        client, broker_elsewhere, tmp_path):
    import subprocess

    import redis

    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--maxmemory-policy", "noeviction",
         "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        full = redis.Redis(port=port)

        def answers() -> bool:
            try:
                return bool(full.ping())
            except redis.ConnectionError:
                return False

        wait_until(answers, timeout=10, message="the small Redis to start")
        # Filled past the limit it then gets: every write refused from there on.
        for batch in range(40):
            full.mset({f"filler:{batch}:{index}": b"x" * 1000 for index in range(100)})
        full.config_set("maxmemory", "2mb")
        with pytest.raises(redis.ResponseError):
            full.set("small", "1")
        assert full.ping()
        sweep_heartbeat_record(now=database_now())
        broker_elsewhere(f"redis://127.0.0.1:{port}/0")

        reply = client.get("/readyz")
    finally:
        server.terminate()
        server.wait(timeout=10)

    assert reply.json()["checks"]["broker"] == {
        "status": "failing",
        "error": "Unavailable: the broker does not answer or refuses writes"}


def test_it_turns_red_when_the_mail_server_refuses_starttls(client, settings):
    from tests.support.mail import RecordingSMTPServer

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_USE_TLS = True
    with RecordingSMTPServer() as server:  # speaks SMTP, offers no STARTTLS
        settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
        refused = client.get("/readyz").json()["checks"]["mail"]
        settings.EMAIL_USE_TLS = False
        plain = client.get("/readyz").json()["checks"]["mail"]

    assert refused == {"status": "failing", "error": "Unavailable: the mail server does not "
                       "take a connection (SMTPNotSupportedError)"}
    assert plain == {"status": "ok"}
