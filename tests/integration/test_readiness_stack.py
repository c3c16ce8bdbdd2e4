"""/readyz on a real gunicorn: red when PostgreSQL, Redis or the object store goes away.

gunicorn reaches PostgreSQL and Redis through proxies this test can cut
(the shared servers serve other tests and are never stopped), and photos in
moto's S3 server, which the test stops.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.utils import timezone

from health.heartbeat import sweep_heartbeat_record
from tests.integration.servers import object_store_start
from tests.support.net import SwitchableTCPProxy, free_port
from tests.support.processes import database_url_for, process_command, service_env
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def readiness(base_url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(base_url + "/readyz", timeout=20) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def failing(body: dict) -> set[str]:
    return {name for name, check in body["checks"].items() if check["status"] != "ok"}


def test_readiness_names_the_part_that_is_down(require_postgres, broker_url, processes,
                                               tmp_path):
    store = object_store_start(processes)
    database = connection.settings_dict
    db_proxy = SwitchableTCPProxy(database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432))
    broker = urlsplit(broker_url)
    redis_proxy = SwitchableTCPProxy(broker.hostname, broker.port or 6379)
    db_proxy.up(), redis_proxy.up()
    port = free_port()
    env = service_env(
        database_url=database_url_for({**database, "HOST": "127.0.0.1",
                                       "PORT": str(db_proxy.port)}),
        broker_url=redis_proxy.url(broker.path.lstrip("/")), var_dir=tmp_path,
        GUNICORN_CMD_ARGS=f"--bind=127.0.0.1:{port}", **store.env())
    web = processes.start("web", process_command("web"), env=env)
    base = f"http://127.0.0.1:{port}"
    sweep_heartbeat_record(now=timezone.now())
    try:
        def answering():
            assert web.alive(), "gunicorn exited"
            try:
                return readiness(base)
            except OSError:
                return None

        status, body = wait_until(answering, timeout=30, message="gunicorn's /readyz")
        assert (status, failing(body)) == (200, set()), body

        db_proxy.down()
        status, body = readiness(base)
        assert status == 503 and "database" in failing(body), body
        db_proxy.up()
        wait_until(lambda: readiness(base)[0] == 200, timeout=30, message="ready again")

        redis_proxy.down()
        status, body = readiness(base)
        assert status == 503 and {"broker", "cache"} <= failing(body), body
        assert "database" not in failing(body)
        redis_proxy.up()
        wait_until(lambda: readiness(base)[0] == 200, timeout=30, message="ready again")

        store.process.stop()
        status, body = readiness(base)
        assert (status, failing(body)) == (503, {"storage"}), body
        assert str(store.endpoint_url) not in json.dumps(body)
    finally:
        web.stop()
        db_proxy.down()
        redis_proxy.down()
