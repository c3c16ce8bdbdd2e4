"""The readiness checks beyond django-health-check's own: the broker and the sweeps.

Each raises one of django-health-check's exceptions with a short message of
our own: readiness is read by machines and people outside the clinic, so it
names the part that failed and never an address, a credential or a patient.
"""

from __future__ import annotations

import dataclasses
import datetime

from asgiref.sync import sync_to_async
from celery import current_app
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from health.heartbeat import sweep_heartbeat_last, sweep_is_stale


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection (Redis, through Sentinel when configured)."""

    timeout = datetime.timedelta(seconds=3)

    def run(self) -> None:
        # The project's Celery app (clinic/celery.py), without importing the wiring.
        try:
            with current_app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        except Exception as error:
            raise ServiceUnavailable("the broker does not answer") from error


@dataclasses.dataclass
class Sweeps(HealthCheck):
    """A sweep has finished within SWEEP_STALE_AFTER: beat and at least one worker run."""

    last: datetime.datetime | None = dataclasses.field(default=None, repr=False)

    async def run(self) -> None:
        # On the request's own thread and database connection, not a pool thread's.
        self.last = last = await sync_to_async(sweep_heartbeat_last, thread_sensitive=True)()
        if sweep_is_stale(last=last, now=timezone.now()):
            raise ServiceUnavailable(
                "no sweep has finished yet" if last is None
                else f"no sweep has finished since {last.isoformat()}"
            )
