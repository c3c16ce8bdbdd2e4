"""When a check-in is due: pure calendar arithmetic, no Django.

A day-N check-in goes out at the clinic's send hour on the N-th local calendar
day after the session, in the clinic's own time zone. Counting calendar days
locally (not 24-hour periods in UTC) keeps the email at 10:00 on the clock on
the clinic's wall across a daylight-saving change.

A check-in still unsent a link lifetime after its due time is not dropped
(``late_checkin_fate``): it is sent late, replaced by a later one, or the
patient is flagged (clinical-reference.md, "Nothing lapses"). A comment to
read is due one business day after it was written (``comment_due_at``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
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


# A check-in that could not be sent in time ----------------------------------------------
#
# clinical-reference.md, "Nothing lapses" (*policy*): a check-in that could not
# be sent within the link lifetime of its due time (a session recorded days
# later, an outage) is not dropped in silence.


class LateFate(StrEnum):
    """What becomes of a check-in still unsent more than the link lifetime after its due time."""

    # No later check-in follows soon: it goes out now, once, judged by its own day.
    SEND_LATE = "send_late"
    # A later check-in of the session goes out instead (or already went): missed.
    REPLACED = "replaced"
    # The session's last check-in is past: missed, and the patient flagged NO_RESPONSE.
    UNSENDABLE = "unsendable"


def checkin_is_late(*, due_at: datetime, now: datetime, link_lifetime: timedelta) -> bool:
    """Still unsent more than the link lifetime after its due time: its link would be dead."""
    return now - due_at > link_lifetime


def late_checkin_fate(*, later: Iterable[tuple[bool, datetime]], now: datetime,
                      replaced_within: timedelta) -> LateFate:
    """The fate of a late check-in, given the session's later check-ins (cancelled ones left out).

    ``later`` holds, for each later check-in of the same session, whether it is
    still scheduled and its due time. One already sent, answered, missed or
    failed has reached the patient or flagged them: it replaces this one. So
    does one due within ``replaced_within`` (24 hours): the patient gets that
    one instead. With later check-ins all further off, this one goes out late;
    with none at all, nothing can be sent and someone must call.
    """
    later = list(later)
    if not later:
        return LateFate.UNSENDABLE
    if any(not scheduled or due_at <= now + replaced_within for scheduled, due_at in later):
        return LateFate.REPLACED
    return LateFate.SEND_LATE


# Comments to read: due within one business day -------------------------------------------
#
# clinical-reference.md, "Comments: warning signs": comments to read are due
# within one business day, like a review flag, and an overdue one is shown as
# overdue. *Policy* (docs/escalation-rules.md): business days are Monday to
# Friday on the clinic's wall clock (public holidays are not known to the
# product); a comment written on a business day is due at the same time on the
# next one (Friday 15:00 → Monday 15:00); one written at the weekend is due at
# the end of Monday. It is overdue from its due time on.

_FRIDAY = 4


def _next_business_date(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() > _FRIDAY:
        day += timedelta(days=1)
    return day


def _previous_business_date(day: date) -> date:
    day -= timedelta(days=1)
    while day.weekday() > _FRIDAY:
        day -= timedelta(days=1)
    return day


def _on_the_wall(day: date, wall: time, zone: ZoneInfo) -> datetime:
    # Through UTC: a wall time inside a spring-forward gap moves to a real instant.
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def comment_due_at(*, submitted_at: datetime, timezone: str) -> datetime:
    """When a comment to read written at ``submitted_at`` is due: one business day later."""
    if submitted_at.tzinfo is None:
        raise ValueError("submitted_at must be time-zone aware")
    zone = ZoneInfo(timezone)
    local = submitted_at.astimezone(zone)
    if local.weekday() > _FRIDAY:
        # Written at the weekend: the whole of Monday (the next business day) to read it.
        monday = _next_business_date(local.date())
        return _on_the_wall(monday + timedelta(days=1), time.min, zone)
    return _on_the_wall(_next_business_date(local.date()), local.time(), zone)


def comments_overdue_cutoff(*, now: datetime, timezone: str) -> datetime:
    """The latest ``submitted_at`` of a comment already overdue at ``now``.

    ``submitted_at <= comments_overdue_cutoff(now)`` exactly when
    ``comment_due_at(submitted_at) <= now``, so a list can filter on its column.
    """
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware")
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if local.weekday() > _FRIDAY:
        # At the weekend, a comment of Thursday or earlier is overdue; Friday's is not yet.
        friday = _previous_business_date(local.date() + timedelta(days=1))
        return _on_the_wall(friday, time.min, zone) - timedelta(microseconds=1)
    return _on_the_wall(_previous_business_date(local.date()), local.time(), zone)
