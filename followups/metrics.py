"""The desk's own figures over the last N days: how many answer, how fast flags are handled.

One selector for ``GET /api/metrics/`` and the dashboard, so both always
show the same numbers. The window is the check-ins *sent* in it and the
flags *raised* in it: every rate divides a count by the count it is a part
of (answered of those sent, flagged of those answered), never by a count of
something else.

Times are in minutes: from a flag being raised to the first recorded call
(``ContactAttempt``), and to its resolution. An urgent flag is "uncontacted
at 2 hours" (``settings.URGENT_ACK_DEADLINE``) when no call was recorded
within that time of it being raised, once that time has passed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, Min, OuterRef, Q

from followups.assessment.rules import Level
from followups.escalations.comments import comments_overdue_q
from followups.models import CheckIn, CheckInResponse, ContactAttempt, Delivery, Escalation
from patients.models import Clinic

DEFAULT_DAYS = 30
MAX_DAYS = 365


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` percentile by linear interpolation (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _sent_answered(rows: Iterable[tuple[object, int, int]]) -> dict[str, dict]:
    return {str(key): {"sent": sent, "answered": answered,
                       "response_rate": _rate(answered, sent)}
            for key, sent, answered in rows}


def desk_metrics(*, clinics: Sequence[Clinic], now: datetime,
                 days: int = DEFAULT_DAYS) -> dict:
    """The figures of ``GET /api/metrics/`` for these clinics, over the ``days`` before ``now``."""
    since = now - timedelta(days=days)
    clinic_ids = [clinic.pk for clinic in clinics]
    completed = Q(status=CheckIn.Status.COMPLETED)
    # The clinic kept on each check-in, flag and answer (not through the session and
    # the patient): the planner starts from the clinics' own rows.
    checkins = CheckIn.objects.filter(clinic_id__in=clinic_ids,
                                      sent_at__gte=since, sent_at__lte=now).order_by()
    totals = checkins.aggregate(sent=Count("pk"), answered=Count("pk", filter=completed))
    by_day = {str(day): {"sent": 0, "answered": 0, "response_rate": None}
              for day in (*settings.CHECKIN_DAYS, settings.CHECKIN_WATCH_DAY)}
    by_day.update(_sent_answered(
        checkins.values("day").annotate(sent=Count("pk"), answered=Count("pk", filter=completed))
        .values_list("day", "sent", "answered")))
    # Whatever channels carried the invitations: a channel added later appears by itself.
    invitations = Delivery.objects.filter(checkin__in=checkins.values("pk"),
                                          kind=Delivery.Kind.INVITATION).order_by()
    by_channel = _sent_answered(
        invitations.values("channel")
        .annotate(sent=Count("checkin", distinct=True),
                  answered=Count("checkin", distinct=True,
                                 filter=Q(checkin__status=CheckIn.Status.COMPLETED)))
        .values_list("channel", "sent", "answered"))

    answered_ids = checkins.filter(completed).values("pk")
    flagged = Escalation.objects.filter(checkin__in=answered_ids,
                                        trigger=Escalation.Trigger.RESPONSE).order_by()
    flag_counts = flagged.aggregate(
        review=Count("checkin", distinct=True, filter=Q(level=Level.REVIEW.label)),
        urgent=Count("checkin", distinct=True, filter=Q(level=Level.URGENT.label)),
        any=Count("checkin", distinct=True))

    raised = (Escalation.objects.filter(clinic_id__in=clinic_ids,
                                        created_at__gte=since, created_at__lte=now)
              .order_by().annotate(first_contact_at=Min("contacts__at")))
    to_contact, to_resolve = [], []
    for created_at, first_contact_at, resolved_at in raised.values_list(
            "created_at", "first_contact_at", "resolved_at"):
        if first_contact_at is not None:
            to_contact.append((first_contact_at - created_at).total_seconds() / 60)
        if resolved_at is not None:
            to_resolve.append((resolved_at - created_at).total_seconds() / 60)
    deadline = settings.URGENT_ACK_DEADLINE
    contacted_in_time = ContactAttempt.objects.filter(
        escalation=OuterRef("pk"), at__lte=OuterRef("created_at") + deadline)
    urgent_uncontacted = (raised.filter(level=Level.URGENT.label, created_at__lte=now - deadline)
                          .exclude(Exists(contacted_in_time)).count())
    comments_overdue = CheckInResponse.objects.filter(
        comments_overdue_q(clinics, now=now, clinic_field="clinic"),
        comment_waiting=True, clinic_id__in=clinic_ids).count()
    answered = totals["answered"]
    return {
        "days": days,
        "checkins_sent": totals["sent"],
        "answered": answered,
        "response_rate": _rate(answered, totals["sent"]),
        "by_channel": by_channel,
        "by_day": by_day,
        "flagged_rate": _rate(flag_counts["any"], answered),
        "flagged_rate_by_level": {"review": _rate(flag_counts["review"], answered),
                                  "urgent": _rate(flag_counts["urgent"], answered)},
        "median_minutes_to_first_contact": _minutes(percentile(to_contact, 0.5)),
        "p90_minutes_to_first_contact": _minutes(percentile(to_contact, 0.9)),
        "median_minutes_to_resolution": _minutes(percentile(to_resolve, 0.5)),
        "urgent_uncontacted_2h": urgent_uncontacted,
        "comments_overdue": comments_overdue,
    }
