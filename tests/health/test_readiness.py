"""/readyz: each part the product needs, reported as JSON, and the sweeps' heartbeat."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from health.heartbeat import sweep_heartbeat_last, sweep_heartbeat_record
from tests.support.net import free_port

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = {"database", "broker", "storage", "cache", "sweeps"}


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


def test_it_is_ready_when_every_part_answers_and_a_sweep_just_finished(client):
    sweep_heartbeat_record(now=timezone.now())

    reply = client.get("/readyz")

    assert reply.status_code == 200, reply.json()
    body = reply.json()
    assert body["status"] == "ok"
    assert body["checks"] == {name: {"status": "ok"} for name in CHECKS}
    assert body["last_sweep_at"] == sweep_heartbeat_last().isoformat()
    assert body["sweep_stale_after_seconds"] == 300
    assert reply["Cache-Control"].startswith("max-age=0")


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


def test_it_turns_red_when_sweeps_stop_for_five_minutes(client):
    start = timezone.now()
    sweep_heartbeat_record(now=start)

    with time_machine.travel(start + timedelta(minutes=4, seconds=59), tick=False):
        assert client.get("/readyz").status_code == 200
    with time_machine.travel(start + timedelta(minutes=5, seconds=1), tick=False):
        reply = client.get("/readyz")

    assert reply.status_code == 503
    assert reply.json()["checks"]["sweeps"]["error"] == (
        f"Unavailable: no sweep has finished since {start.isoformat()}")


def test_the_latest_sweep_wins_whichever_worker_ran_it():
    first = timezone.now() - timedelta(minutes=3)
    sweep_heartbeat_record(now=first)
    sweep_heartbeat_record(now=first + timedelta(minutes=1))

    assert sweep_heartbeat_last() == first + timedelta(minutes=1)


def test_it_turns_red_when_the_broker_does_not_answer(client, broker_elsewhere):
    sweep_heartbeat_record(now=timezone.now())
    broker_elsewhere(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there

    reply = client.get("/readyz")

    assert reply.status_code == 503
    assert reply.json()["checks"]["broker"] == {
        "status": "failing", "error": "Unavailable: the broker does not answer"}


def test_it_turns_red_when_the_storage_cannot_be_written(client, settings, tmp_path):
    sweep_heartbeat_record(now=timezone.now())
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
    sweep_heartbeat_record(now=timezone.now())

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
    sweep_heartbeat_record(now=timezone.now())

    assert 'id="sweeps-stale"' not in client.get(reverse("admin:index")).content.decode()


def test_clinic_staff_are_not_shown_the_operators_warning(client, staff):
    from tests.admin.builders import ensure_clinic_staff_group

    staff.groups.add(ensure_clinic_staff_group())
    client.force_login(staff)

    assert 'id="sweeps-stale"' not in client.get(reverse("admin:index")).content.decode()
