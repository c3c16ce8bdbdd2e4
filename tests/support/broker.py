"""The broker as a test sees it: this process's producer sent elsewhere, Redis read as text."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import redis

# The shared Redis's databases 0-5 are left to the rest of the suite and to
# development; a test that runs real workers claims one of these for its broker.
BROKER_DATABASES = range(15, 5, -1)
CLAIM_KEY = "aftercare:integration-test:claim"
CLAIM_SECONDS = 900


@dataclass
class BrokerDatabase:
    """A database of the shared Redis server that one test alone uses as its broker."""

    url: str
    client: redis.Redis
    token: str

    def claim(self) -> bool:
        return bool(self.client.set(CLAIM_KEY, self.token, nx=True, ex=CLAIM_SECONDS))

    def flush(self) -> None:
        """Empty it, as FLUSHALL would, but keep the claim (in one transaction)."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.flushdb()
            pipe.set(CLAIM_KEY, self.token, ex=CLAIM_SECONDS)
            pipe.execute()


@contextlib.contextmanager
def broker_database_claimed(redis_url: str) -> Iterator[BrokerDatabase]:
    """An empty database of ``redis_url``'s server, claimed so that two runs of the
    suite at once never share one (and consume each other's tasks); emptied and
    released on the way out. Fails the test when every one is taken."""
    import pytest

    base = redis_url.rsplit("/", 1)[0] if redis_url.count("/") > 2 else redis_url
    token = secrets.token_hex(8)
    for number in BROKER_DATABASES:
        database = BrokerDatabase(f"{base}/{number}", redis.Redis.from_url(f"{base}/{number}"),
                                  token)
        if database.claim():
            database.flush()
            break
        database.client.close()
    else:
        pytest.fail(f"no free Redis database ({BROKER_DATABASES[-1]}-{BROKER_DATABASES[0]}) "
                    "for the test's broker")
    try:
        yield database
    finally:
        database.client.flushdb()
        database.client.close()


@contextlib.contextmanager
def celery_producer_broker(url: str) -> Iterator[None]:
    """Send this process's tasks (``clinic.celery.app``) to another broker for a while.

    Sessions and answers recorded in the test process enqueue their sweeps
    through the project's Celery app; this points its producer, and only its
    producer, at ``url`` (a dedicated database, or a proxy a test can cut).
    """
    from kombu import pools

    from clinic.celery import app

    def reset_pools() -> None:
        # kombu keeps one pool per broker address in a global registry: clear
        # it too, or the next swap to the same address gets a closed pool.
        app._pool = None
        app.amqp._producer_pool = None
        pools.reset()

    saved = app.conf.get("broker_write_url")
    reset_pools()
    app.conf.broker_write_url = url
    try:
        yield
    finally:
        reset_pools()
        app.conf.broker_write_url = saved


def redis_readable_dump(client) -> list[str]:
    """Every key and value in the client's database as text, Celery bodies decoded.

    Celery's Redis transport stores each message as JSON whose ``body`` is
    base64: decoded here, or a leak inside a task's arguments would be missed.
    """
    texts: list[str] = []
    for key in client.scan_iter(count=500):
        texts.append(_text(key))
        kind = _text(client.type(key))
        if kind == "string":
            values = [client.get(key)]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "hash":
            values = [item for pair in client.hgetall(key).items() for item in pair]
        elif kind == "set":
            values = list(client.smembers(key))
        elif kind == "zset":
            values = [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
        else:
            values = []
        for value in values:
            texts.extend(_decoded(value))
    return texts


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _decoded(value) -> Iterator[str]:
    text = _text(value)
    yield text
    try:
        payload = json.loads(text)
    except ValueError:
        return
    candidates = payload if isinstance(payload, list) else [payload]
    for item in candidates:
        if isinstance(item, dict) and isinstance(item.get("body"), str):
            with contextlib.suppress(ValueError):
                yield base64.b64decode(item["body"]).decode("utf-8", "replace")
