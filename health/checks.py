"""The readiness checks beyond django-health-check's own: broker, mail, sweeps, clocks.

Each raises one of django-health-check's exceptions with a short message of
our own: readiness is read by machines and people outside the clinic, so it
names the part that failed and never an address, a credential or a patient.
"""

from __future__ import annotations

import dataclasses
import datetime
import socket

from asgiref.sync import sync_to_async
from celery import current_app
from django.conf import settings
from django.core import mail
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from core.clock import database_now
from health.clock import clock_record, clocks_off, offset_words
from health.heartbeat import sweep_heartbeat_last, sweep_is_stale

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection (Redis, through Sentinel when configured)."""

    timeout = datetime.timedelta(seconds=3)

    def run(self) -> None:
        # The project's Celery app (clinic/celery.py), without importing the wiring.
        try:
            with current_app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
                client = getattr(connection.default_channel, "client", None)
                if client is not None:
                    # A write, not a ping: a Redis out of memory answers pings
                    # and refuses every task (OOM command not allowed).
                    client.set("aftercare:readyz", "1", ex=60)
        except Exception as error:
            raise ServiceUnavailable("the broker does not answer or refuses writes") from error


@dataclasses.dataclass
class Mail(HealthCheck):
    """The SMTP server takes a connection (and STARTTLS and sign-in, when configured).

    Only for the SMTP backend; an email provider's API (django-anymail) is
    seen failing by the sweep and the dashboard instead.
    """

    timeout = datetime.timedelta(seconds=8)

    def run(self) -> None:
        if settings.EMAIL_BACKEND != SMTP_BACKEND:
            return
        connection = mail.get_connection(timeout=5)
        try:
            connection.open()
        except Exception as error:
            raise ServiceUnavailable(
                f"the mail server does not take a connection ({type(error).__name__})"
            ) from error
        finally:
            try:
                connection.close()
            except Exception:  # already gone
                pass


@dataclasses.dataclass
class Clocks(HealthCheck):
    """This process's clock, and every worker's lately heard from, within a minute of
    the database's: a process whose clock is off is named with its offset."""

    async def run(self) -> None:
        off = await sync_to_async(_clocks_off, thread_sensitive=True)()
        if off:
            raise ServiceUnavailable("clock off: " + "; ".join(
                f"{name} is {offset_words(offset)}" for name, offset in off))


def _clocks_off() -> list[tuple[str, float]]:
    clock_record(process=f"web {socket.gethostname()}", every=0)
    return clocks_off(now=database_now())


@dataclasses.dataclass
class Sweeps(HealthCheck):
    """A sweep has finished within SWEEP_STALE_AFTER: beat and at least one worker run."""

    last: datetime.datetime | None = dataclasses.field(default=None, repr=False)

    async def run(self) -> None:
        # On the request's own thread and database connection, not a pool thread's.
        self.last = last = await sync_to_async(sweep_heartbeat_last, thread_sensitive=True)()
        now = await sync_to_async(database_now, thread_sensitive=True)()
        if sweep_is_stale(last=last, now=now):
            raise ServiceUnavailable(
                "no sweep has finished yet" if last is None
                else f"no sweep has finished since {last.isoformat()}"
            )
