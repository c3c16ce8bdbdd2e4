"""The database server's clock: the one clock every process of the product agrees on.

Each machine's own clock can be minutes or hours off (a VM resumed, NTP
down); the database server that holds the rows is one clock for all. An
embedded SQLite database lives in the process itself: its clock is the
process's.
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
