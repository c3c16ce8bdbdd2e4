"""Redis behind Sentinel (CELERY_BROKER_URL=sentinel://…), with a real failover.

A primary, a replica and a Sentinel run on loopback for this test alone. A
worker consumes sweeps through the Sentinel; the primary is killed and the
Sentinel promotes the replica while the worker is connected. Whatever the
dead primary held (a queued "sweep now" hint) may be gone: PostgreSQL is the
record of what is due, so the next sweep sends it, and nothing twice.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.cache.backends.redis import RedisCache

from core.cache import SentinelRedisCache
from followups.delivery.channels.email.messages import checkin_message_id
from tests.integration.servers import sentinel_set_start
from tests.integration.test_faults import all_sent, due_day2
from tests.support import PROJECT_DIR
from tests.support.mail import mail_folder_messages
from tests.support.processes import process_command, service_env
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

SEND_SWEEP = (
    "import django; django.setup()\n"
    "from clinic.celery import app\n"
    "app.send_task('followups.sweep', retry=False, expires=55)\n"
)


@pytest.fixture
def sentinels(processes, tmp_path):
    return sentinel_set_start(processes, tmp_path / "redis")


def send_sweep(env: dict[str, str]) -> None:
    """What beat does every minute, from a process of its own configured for Sentinel."""
    subprocess.run([sys.executable, "-c", SEND_SWEEP], cwd=PROJECT_DIR, env=env, check=True,
                   capture_output=True, timeout=60)


def test_a_failover_under_a_consuming_worker_loses_no_checkin(
        clinic, sentinels, test_database_url, processes, mail_dir, tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    env = service_env(database_url=test_database_url, broker_url=sentinels.broker_url,
                      var_dir=var_dir, **sentinels.env(),
                      EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                      EMAIL_FILE_PATH=str(mail_dir))
    assert sentinels.master_port() == sentinels.primary_port
    worker = processes.start("worker", process_command("worker"), env=env)
    first = due_day2(clinic)
    send_sweep(env)
    wait_until(lambda: all_sent(first), timeout=60, message="the first sweep, on the primary")

    # Check-ins fall due as the primary dies under the connected worker: whatever
    # the primary held for them is gone with it.
    during = due_day2(clinic, 2)
    sentinels.fail_over()

    after = due_day2(clinic, 2)
    send_sweep(env)  # the next sweep, through the Sentinel, to the new primary
    wait_until(lambda: all_sent(during + after), timeout=90,
               message="the sweep after the failover")
    assert worker.alive()

    ids = sorted(message["Message-ID"] for message in mail_folder_messages(mail_dir))
    assert ids == sorted(checkin_message_id(c, reminder=False) for c in first + during + after)


def test_the_cache_follows_the_failover(sentinels):
    cache = SentinelRedisCache(sentinels.broker_url, {"OPTIONS": {
        "master_name": sentinels.master_name, "socket_timeout": 1,
        "socket_connect_timeout": 1}})
    assert isinstance(cache, RedisCache)
    cache.set("rate:203.0.113.9", 3, timeout=60)
    assert cache.get("rate:203.0.113.9") == 3

    sentinels.fail_over()

    def writes_again() -> bool:
        try:
            cache.set("rate:203.0.113.9", 4, timeout=60)
        except Exception:  # the first call after the failover may still hit the dead one
            return False
        return cache.get("rate:203.0.113.9") == 4

    wait_until(writes_again, timeout=30, message="the cache on the new primary")
