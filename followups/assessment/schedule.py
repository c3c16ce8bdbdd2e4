"""When a check-in is due: pure calendar arithmetic, no Django.

A day-N check-in goes out at the clinic's send hour on the N-th local calendar
day after the session, in the clinic's own time zone. Counting calendar days
locally (not 24-hour periods in UTC) keeps the email at 10:00 on the clock on
the clinic's wall across a daylight-saving change.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def checkin_due_at(*, performed_at: datetime, timezone: str, send_hour: int, day: int) -> datetime:
    if performed_at.tzinfo is None:
        raise ValueError("performed_at must be time-zone aware")
    zone = ZoneInfo(timezone)
    local_date = performed_at.astimezone(zone).date() + timedelta(days=day)
    local = datetime.combine(local_date, time(hour=send_hour), tzinfo=zone)
    # A send hour inside a spring-forward gap does not exist on the wall
    # clock; the round trip through UTC moves it to the first valid instant.
    return local.astimezone(UTC)
