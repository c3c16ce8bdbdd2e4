"""Reads behind the admin's dashboard: today's figures and the activity, scoped to clinics.

Each function runs a fixed number of queries whatever the number of rows:
aggregates with ``filter=`` instead of one count per figure, and prefetches
instead of lookups per row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Prefetch, Q, Value
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from followups.assessment.rules import Level, Severity
from followups.consent.selectors import calls_instead_open
from followups.desk.calls import calls_for_user
from followups.desk.charts import activity_chart_svg
from followups.desk.display import codes_in_words
from followups.desk.metrics import DeskFigures, desk_figures_from
from followups.escalations.comments import comments_overdue_q
from followups.metrics import desk_metrics
from followups.models import (
    CheckIn,
    CheckInResponse,
    ClusterSignal,
    DashboardSnapshot,
    Escalation,
)
from followups.selectors import undelivered_alerts_q
from followups.webhooks.models import Webhook
from patients.models import Clinic, Patient
from patients.selectors import clinics_by_zone, clinics_for_user

MISSED_WINDOW = timedelta(days=7)
RESPONSE_RATE_WINDOW = timedelta(days=30)
CLUSTERS_SHOWN = 10
SEVERITY_RANK = {step.value_name: int(step) for step in Severity}
URGENT, REVIEW = Level.URGENT.label, Level.REVIEW.label


# Clinic-local days --------------------------------------------------------------------


def local_day_bounds(timezone_name: str, day: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day on the clinic's wall clock, as aware datetimes."""
    zone = ZoneInfo(timezone_name)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def local_days_q(clinics: Iterable[Clinic], *, clinic_field: str, time_field: str,
                 first: date | None = None, last: date | None = None,
                 now: datetime | None = None) -> Q:
    """Rows of ``clinics`` whose ``time_field`` falls on the given local days of their clinic.

    With ``now`` and no dates: the clinic's today. One branch per time zone
    (``patients.selectors.clinics_by_zone``), never one per clinic: each a
    UTC range on ``time_field`` (its index) and the zone's clinics, so the
    condition is the same size for ten clinics or ten thousand.
    """
    condition = Q(pk__in=[])
    starts, ends = [], []
    for zone, members in clinics_by_zone(clinics).items():
        if first is not None:
            start_day = first
        elif now is not None:
            start_day = now.astimezone(ZoneInfo(zone)).date()
        else:
            raise TypeError("local_days_q needs the first day or now")
        end_day = last or start_day
        start, _ = local_day_bounds(zone, start_day)
        _, end = local_day_bounds(zone, end_day)
        starts.append(start)
        ends.append(end)
        condition |= Q(**{f"{clinic_field}__in": members, f"{time_field}__gte": start,
                          f"{time_field}__lt": end})
    if not starts:
        return condition
    # The zones' ranges together, as one more condition: a range the index scan
    # starts and stops at, instead of reading every later row (the check-ins
    # due next week) and filtering each by the branches.
    return Q(**{f"{time_field}__gte": min(starts), f"{time_field}__lt": max(ends)}) & condition


# The dashboard ------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    url: str
    tone: str = "neutral"  # a level's label (urgent, review), or "neutral"
    note: str = ""


@dataclass
class Dashboard:
    clinics: list[Clinic]
    figures: list[Figure] = field(default_factory=list)
    clusters: list[ClusterSignal] = field(default_factory=list)
    more_clusters: bool = False
    clusters_url: str = ""
    activity: Activity | None = None
    # "Call now" (followups.desk.calls) and the desk's figures (followups.desk.metrics).
    calls: list[Escalation] = field(default_factory=list)
    desk: DeskFigures | None = None
    # Check-ins no message could carry (the patient opted out of every channel).
    calls_instead: list = field(default_factory=list)
    calls_instead_url: str = ""
    # When the network's snapshot was counted; None when every figure is live.
    as_of: datetime | None = None


# The snapshots (followups.desk.snapshot counts them): the whole network's, and
# one per set of clinics a staff member of many clinics belongs to.
NETWORK = "network"
GROUP_PREFIX = "clinics:"

# Above this many clinics, a user may be the whole network: one more query
# (the number of clinics) tells.
NETWORK_FROM_CLINICS = 50
# From this many clinics, a member's growing figures come from the snapshot of
# their set of clinics; below it, they are always counted live (a few clinics'
# rows count in tens of milliseconds).
GROUP_SNAPSHOT_FROM_CLINICS = 10


def group_scope(clinic_ids: Iterable[int]) -> str:
    """The snapshot scope of a set of clinics: a digest of their sorted ids.

    The snapshot also stores the ids themselves, and a reader checks them
    (``snapshot_fresh``): two sets whose digests collide never share figures.
    """
    key = ",".join(str(pk) for pk in sorted(clinic_ids))
    return GROUP_PREFIX + hashlib.blake2b(key.encode(), digest_size=6).hexdigest()


def clinics_scope(clinic_ids: Collection[int], *,
                  clinics_in_network: Callable[[], int]) -> str | None:
    """Which snapshot a member of these clinics reads; None: their figures are counted live.

    ``clinics_in_network`` is asked only for a set large enough to be the whole
    network: the page (one more query) and the periodic task (a count it has)
    decide alike.
    """
    if (len(clinic_ids) >= NETWORK_FROM_CLINICS
            and len(clinic_ids) == clinics_in_network()):
        return NETWORK
    if len(clinic_ids) >= GROUP_SNAPSHOT_FROM_CLINICS:
        return group_scope(clinic_ids)
    return None


def snapshot_scope(user, clinics: list[Clinic]) -> str | None:
    """Which snapshot this user's growing figures are read from; None: counted live."""
    if user.is_superuser:
        return NETWORK
    return clinics_scope([clinic.pk for clinic in clinics],
                         clinics_in_network=Clinic.objects.count)


def snapshot_fresh(scope: str, *, clinic_ids: Iterable[int] | None,
                   now: datetime) -> DashboardSnapshot | None:
    """The scope's snapshot if it was counted within ``DASHBOARD_SNAPSHOT_MAX_AGE`` of ``now``
    (and, for a set of clinics, is that set's).

    No upper bound: the snapshot is stamped with the database's clock, the
    page's ``now`` is the web server's, and a few seconds between them must
    not hide a snapshot just taken.
    """
    snapshot = (DashboardSnapshot.objects
                .filter(scope=scope, computed_at__gt=now - settings.DASHBOARD_SNAPSHOT_MAX_AGE)
                .first())
    if (snapshot is not None and scope != NETWORK
            and snapshot.counts.get("clinic_ids") != sorted(clinic_ids or ())):
        return None
    return snapshot


def growing_counts(*, zoned: Iterable[Clinic], clinics: list[Clinic],
                   clinic_ids: list[int] | None, now: datetime) -> dict:
    """The counts that grow with the clinics' rows, as plain JSON: today's check-ins,
    the comments to read, the 30-day chart and the desk's metrics.

    What the network's snapshot stores, and what a clinic's page counts live.
    """
    today = local_days_q(zoned, clinic_field="clinic", time_field="due_at", now=now)
    missed_since = now - MISSED_WINDOW
    rate_since = now - RESPONSE_RATE_WINDOW
    Status = CheckIn.Status
    checkins = (
        _in_clinics(CheckIn.objects, "clinic", clinic_ids)
        # Only rows that can count below: the open check-ins (a clinic's through
        # checkin_clinic_open, the network's through checkin_status_due) and the last
        # 30 days (checkin_clinic_due), never the history.
        .filter(Q(status__in=[Status.SENT, Status.FAILED]) | Q(due_at__gte=rate_since))
        .aggregate(
            due_today=Count("pk", filter=today & ~Q(status=Status.CANCELLED)),
            awaiting=Count("pk", filter=Q(status=Status.SENT)),
            missed=Count("pk", filter=Q(status=Status.MISSED, due_at__gte=missed_since)),
            failed=Count("pk", filter=Q(status=Status.FAILED)),
            answered=Count("pk", filter=Q(status=Status.COMPLETED, due_at__gte=rate_since,
                                          due_at__lt=now)),
            closed=Count("pk", filter=Q(status__in=[Status.COMPLETED, Status.MISSED],
                                        due_at__gte=rate_since, due_at__lt=now)),
            # Patients being watched: their day-10 check-in still to be answered.
            watched=Count("session__patient", distinct=True,
                          filter=Q(day=settings.CHECKIN_WATCH_DAY,
                                   status__in=[Status.SCHEDULED, Status.SENT])),
        )
    )
    # Due within one business day of being written, on each clinic's own days.
    comments = _in_clinics(CheckInResponse.objects.filter(comment_waiting=True),
                           "clinic", clinic_ids).aggregate(
        waiting=Count("pk"), overdue=Count("pk", filter=comments_overdue_q(
            zoned, now=now, clinic_field="clinic")))
    return {
        "checkins": checkins,
        "comments": comments,
        "activity": activity_for_clinics(clinic_ids, now=now).as_counts(),
        "desk": desk_metrics(clinics=clinics, now=now),
    }


CALLS_INSTEAD_SHOWN = 10


def _changelist(model_name: str, **params) -> str:
    url = reverse(f"admin:followups_{model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def _in_clinics(queryset, lookup: str, clinic_ids: list[int] | None):
    return queryset if clinic_ids is None else queryset.filter(**{f"{lookup}__in": clinic_ids})


def dashboard_for_user(user, *, now: datetime) -> Dashboard:
    """The figures of the admin's home page: what needs doing today, at the user's clinics.

    A user whose clinics are the whole network, or many clinics
    (``GROUP_SNAPSHOT_FROM_CLINICS``), reads the counts that grow with them
    (check-ins, answers, the chart, the desk's panel) from the snapshot of
    their clinics (``followups.desk.snapshot``) while it is fresh, and the
    page says when it was counted; every other user's are counted live.
    The flags (urgent, review, overdue) are always counted live.
    """
    scope = clinics_for_user(user)
    # A superuser's page needs two clinics to tell one from several; the whole
    # network's list is read only to count its figures live (no fresh snapshot).
    clinics = list(scope[:2]) if user.is_superuser else list(scope)
    clinic_ids = None if user.is_superuser else [clinic.pk for clinic in clinics]
    # Network-wide, the local-day conditions name each zone's clinics by a
    # subquery rather than a list of every clinic's id.
    zoned: Iterable[Clinic] = scope if user.is_superuser else clinics
    dashboard = Dashboard(clinics=clinics)
    if not clinics:
        return dashboard

    unresolved = _in_clinics(Escalation.objects, "clinic", clinic_ids).exclude(
        status=Escalation.Status.RESOLVED
    )
    overdue_before = now - settings.URGENT_ACK_DEADLINE
    escalations = unresolved.aggregate(
        urgent=Count("pk", filter=Q(level=URGENT)),
        review=Count("pk", filter=Q(level=REVIEW)),
        overdue=Count("pk", filter=Q(level=URGENT, status=Escalation.Status.OPEN,
                                     created_at__lt=overdue_before)),
        unreachable=Count("pk", filter=Q(trigger=Escalation.Trigger.UNDELIVERED)),
        alerts_undelivered=Count("pk", filter=undelivered_alerts_q()),
    )

    scope_name = snapshot_scope(user, clinics)
    snapshot = (snapshot_fresh(scope_name, clinic_ids=clinic_ids, now=now)
                if scope_name else None)
    if snapshot is not None:
        counts = snapshot.counts
        dashboard.as_of = snapshot.computed_at
    else:
        counts = growing_counts(zoned=zoned, clinics=list(scope) if user.is_superuser else clinics,
                                clinic_ids=clinic_ids, now=now)
    checkins, comments = counts["checkins"], counts["comments"]
    comments_waiting, comments_overdue = comments["waiting"], comments["overdue"]
    Status = CheckIn.Status
    deadline_minutes = int(settings.URGENT_ACK_DEADLINE.total_seconds() // 60)
    dashboard.figures = [
        Figure("Urgent, not resolved", str(escalations["urgent"]),
               _changelist("escalation", level__exact=URGENT), tone=URGENT,
               note="Act today: the patient was told to seek medical help."),
        Figure("Urgent, not acknowledged in time", str(escalations["overdue"]),
               _changelist("escalation", level__exact=URGENT, status="open", ack="overdue"),
               tone=URGENT, note=f"Open for more than {deadline_minutes} minutes."),
        Figure("Review, not resolved", str(escalations["review"]),
               _changelist("escalation", level__exact=REVIEW), tone=REVIEW,
               note="Contact the patient within a business day."),
        Figure("Check-ins due today", str(checkins["due_today"]),
               _changelist("checkin", due="today"), note="Clinic's local day."),
        Figure("Sent, not answered yet", str(checkins["awaiting"]),
               _changelist("checkin", status__exact=Status.SENT)),
        Figure("Missed (last 7 days)", str(checkins["missed"]),
               _changelist("checkin", status__exact=Status.MISSED, due="7d")),
        Figure("Emails that failed to send", str(checkins["failed"]),
               _changelist("checkin", status__exact=Status.FAILED),
               tone=REVIEW if checkins["failed"] else "neutral",
               note="Check the address, then resend."),
        Figure("Could not reach the patient", str(escalations["unreachable"]),
               _changelist("escalation", trigger__exact=Escalation.Trigger.UNDELIVERED),
               tone=REVIEW if escalations["unreachable"] else "neutral",
               note="Their check-in email could not be delivered: phone them."),
        Figure("Urgent alerts not delivered", str(escalations["alerts_undelivered"]),
               _changelist("escalation", alert="undelivered"),
               tone=URGENT if escalations["alerts_undelivered"] else "neutral",
               note="The clinic was not emailed: check its alert address; the patient "
                    "is in the queue."),
        Figure("Watched: a day-10 check-in to come", str(checkins["watched"]),
               _changelist("checkin", day=settings.CHECKIN_WATCH_DAY),
               note="A day-7 finding that may still be normal healing: no call, one more "
                    "check-in."),
        Figure("Comments to read", str(comments_waiting),
               _changelist("checkinresponse", comment="to_read"),
               tone=REVIEW if comments_waiting else "neutral",
               note="Written by a patient, not flagged: read each within one business day, "
                    "then mark it read."),
        Figure("Comments to read, overdue", str(comments_overdue),
               _changelist("checkinresponse", comment="overdue"),
               tone=URGENT if comments_overdue else "neutral",
               note="Not read within one business day of being written: read them now."),
    ]

    turned_off = _in_clinics(Webhook.objects, "clinic", clinic_ids).filter(active=False).count()
    if turned_off:
        dashboard.figures.insert(0, Figure(
            "Webhooks turned off", str(turned_off), _changelist("webhook", active__exact=0),
            tone=URGENT, note="A day of failed deliveries: other systems hear nothing. Fix the "
                              "receiver, then turn the webhook back on."))

    clusters = list(
        _in_clinics(ClusterSignal.objects, "clinic", clinic_ids)
        .filter(status=ClusterSignal.Status.OPEN)
        .select_related("clinic", "product", "practitioner")
        .prefetch_related(Prefetch("patients", queryset=Patient.objects.only(
            "pk", "first_name", "last_name", "clinic_id")))
        .order_by("-updated_at")[: CLUSTERS_SHOWN + 1]
    )
    dashboard.clusters = clusters[:CLUSTERS_SHOWN]
    for signal in dashboard.clusters:
        signal.reasons_in_words = codes_in_words(signal.reason_codes)
    dashboard.more_clusters = len(clusters) > CLUSTERS_SHOWN
    dashboard.clusters_url = _changelist("clustersignal", status__exact="open")
    dashboard.activity = Activity.from_counts(counts["activity"])
    dashboard.calls = calls_for_user(user, now=now)
    dashboard.desk = desk_figures_from(counts["desk"])
    dashboard.calls_instead = list(calls_instead_open(clinic_ids=clinic_ids)[:CALLS_INSTEAD_SHOWN])
    dashboard.calls_instead_url = _changelist("callinstead", open="yes")
    return dashboard


# The last 30 days, for the dashboard's chart --------------------------------------------

ACTIVITY_DAYS = 30


@dataclass(frozen=True)
class Activity:
    """Per local day, oldest first: check-ins sent, answered, flagged review and urgent
    (``counts`` keys ``sent``, ``answered``, ``review``, ``urgent``)."""

    days: list[date]
    counts: dict[str, list[int]]

    @property
    def totals(self) -> dict[str, int]:
        return {key: sum(values) for key, values in self.counts.items()}

    @property
    def summary(self) -> str:
        """The chart in one paragraph of words, for everyone (and screen readers)."""
        totals = self.totals
        first, last = self.days[0], self.days[-1]
        busiest = max(range(len(self.days)), key=lambda i: (self.counts["sent"][i], i))
        text = (f"From {first.day} {first:%b} to {last.day} {last:%b}: "
                f"{totals['sent']} check-ins sent, {totals['answered']} answers received, "
                f"{totals['review']} flagged for review and {totals['urgent']} flagged urgent.")
        if totals["sent"]:
            day = self.days[busiest]
            text += (f" Most sent on {day.day} {day:%b} "
                     f"({self.counts['sent'][busiest]}).")
        return text

    def as_counts(self) -> dict:
        return {"days": [day.isoformat() for day in self.days], "counts": self.counts}

    @classmethod
    def from_counts(cls, stored: dict) -> Activity:
        return cls(days=[date.fromisoformat(day) for day in stored["days"]],
                   counts={key: list(values) for key, values in stored["counts"].items()})

    def chart_svg(self) -> str:
        return activity_chart_svg(days=self.days, counts=self.counts,
                                  chart_id="activity-30-days",
                                  title=f"The last {len(self.days)} days, per day",
                                  description=self.summary)


def activity_for_clinics(clinic_ids: list[int] | None, *, now: datetime) -> Activity:
    """Four counts per day of the last 30, on the wall clock of the admin's time zone.

    One statement, whatever the number of rows: each count grouped per local
    day in the database, the four joined by UNION ALL.
    """
    zone = timezone.get_current_timezone()
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=back) for back in range(ACTIVITY_DAYS - 1, -1, -1)]
    since, _ = local_day_bounds(str(zone), days[0])
    index = {day: position for position, day in enumerate(days)}
    counts = {key: [0] * len(days) for key in ("sent", "answered", REVIEW, URGENT)}

    def per_day(queryset, field: str, kind):
        return (queryset.filter(**{f"{field}__gte": since}).order_by()
                .annotate(local_day=TruncDate(field, tzinfo=zone), kind=kind)
                .values("local_day", "kind").annotate(n=Count("pk"))
                .values_list("local_day", "kind", "n"))

    checkins = _in_clinics(CheckIn.objects, "clinic", clinic_ids)
    answers = _in_clinics(CheckInResponse.objects, "clinic", clinic_ids)
    escalations = _in_clinics(Escalation.objects, "clinic", clinic_ids).filter(
        level__in=[REVIEW, URGENT])
    rows = per_day(checkins, "sent_at", Value("sent")).union(
        per_day(answers, "submitted_at", Value("answered")),
        per_day(escalations, "created_at", F("level")),
        all=True,
    )
    for day, kind, n in rows:
        if day in index and kind in counts:
            counts[kind][index[day]] += n
    return Activity(days=days, counts=counts)
