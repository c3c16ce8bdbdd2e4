"""Each process's clock against the database's, for readiness to name the one that is off.

Every "is it due" reads the database's clock (``core.clock``), so a process
whose own clock is wrong does no harm there; but its logs, Celery's own
timing and anything still read from it are wrong, and NTP is broken on
its machine. Workers record their offset as they run tasks (at most once a
minute each); a web process measures its own when asked for readiness.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from django.conf import settings

from core.clock import database_now
from health.models import Heartbeat

CLOCK = "clock "

_recorded: dict[str, float] = {}


def clock_offset() -> timedelta:
    """This process's clock minus the database's (positive: this one is ahead)."""
    before = time.time()
    database = database_now()
    after = time.time()
    local = datetime.fromtimestamp((before + after) / 2, tz=UTC)
    return local - database


def clock_record(*, process: str, every: float = 60.0) -> timedelta | None:
    """Record ``process``'s offset (at most once every ``every`` seconds); returns it."""
    last = _recorded.get(process)
    if last is not None and time.monotonic() - last < every:
        return None
    offset = clock_offset()
    Heartbeat.objects.bulk_create(
        [Heartbeat(name=f"{CLOCK}{process}"[:40], at=database_now(),
                   offset_seconds=offset.total_seconds())],
        update_conflicts=True, unique_fields=["name"], update_fields=["at", "offset_seconds"],
    )
    _recorded[process] = time.monotonic()
    return offset


def clocks_off(*, now: datetime) -> list[tuple[str, float]]:
    """The processes heard from lately whose clock is off by more than the tolerance.

    (name, offset in seconds), the worst first.
    """
    tolerance = settings.CLOCK_TOLERANCE.total_seconds()
    rows = Heartbeat.objects.filter(name__startswith=CLOCK,
                                    at__gte=now - settings.CLOCK_HEARD_WITHIN)
    off = [(row.name[len(CLOCK):], row.offset_seconds) for row in rows
           if row.offset_seconds is not None and abs(row.offset_seconds) > tolerance]
    return sorted(off, key=lambda item: -abs(item[1]))


def offset_words(offset_seconds: float) -> str:
    way = "ahead of" if offset_seconds > 0 else "behind"
    return f"{abs(offset_seconds):.0f} s {way} the database"
