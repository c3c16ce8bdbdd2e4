"""The last successful sweep's time, recorded by the sweep, read by readiness and the dashboard.

A sweep runs every minute from beat (and on demand). When none has finished
for SWEEP_STALE_AFTER (5 minutes), beat or every worker is down: check-ins
stop going out although every web server still answers.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from health.models import Heartbeat

SWEEP = "sweep"


def sweep_heartbeat_record(*, now: datetime) -> None:
    """Call at the end of a successful sweep: one upsert, whichever worker ran it."""
    Heartbeat.objects.bulk_create(
        [Heartbeat(name=SWEEP, at=now)],
        update_conflicts=True, unique_fields=["name"], update_fields=["at"],
    )


def sweep_heartbeat_last() -> datetime | None:
    """When the last successful sweep finished, or None if none ever has."""
    return Heartbeat.objects.filter(name=SWEEP).values_list("at", flat=True).first()


def sweep_is_stale(*, last: datetime | None, now: datetime) -> bool:
    return last is None or now - last > settings.SWEEP_STALE_AFTER
