"""One clock for the sweep: the database's.

Leases and "is it due" are compared across every worker; each worker's own
clock can be minutes off (a VM resumed, NTP down). Reading the time from the
database server that holds the rows means a worker with a wrong clock can
neither steal another's claim (its leases would already be over) nor strand
rows (its leases would run for too long), nor mark every check-in missed.
An embedded SQLite database lives in the worker's own process: its clock is
that process's clock.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.utils import timezone


def database_now() -> datetime:
    """The current time by the database server, aware, in UTC."""
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        (now,) = cursor.fetchone()
    return now
