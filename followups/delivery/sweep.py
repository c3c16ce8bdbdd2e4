"""The sweep: everything due now, run every minute by beat and by ``dispatch_checkins``.

Check-ins are delivered in batches, each claimed under a lease
(``checkins_deliver_due``). Run synchronously (``dispatch_checkins``, tests),
the sweep delivers them itself; run by beat, it asks as many workers as the
due rows need to deliver them (``fan_out``), each claiming its own batches,
so throughput grows with the workers. Then the urgent alerts, then the
cluster checks around the escalations raised since the last sweep. Each part
runs even if another raised.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from kombu.exceptions import OperationalError as KombuOperationalError

from followups.delivery import clock, enqueue, stopping
from followups.delivery.claims import SweepReport, claim_due_rows
from followups.escalations.clusters import escalation_clusters_process
from followups.escalations.contacts import contact_reminders_process
from followups.escalations.services import escalation_alerts_process
from followups.models import CheckIn
from followups.services import checkins_process_claimed
from health.heartbeat import sweep_heartbeat_record

logger = logging.getLogger(__name__)


def _due_checkins():
    return (CheckIn.objects.filter(status__in=CheckIn.OPEN_STATUSES)
            .select_related("session__patient__clinic"))


def checkins_deliver_due(*, now: datetime | None = None, batch_size: int | None = None,
                         report: SweepReport | None = None, time_budget: float | None = None,
                         on_claimed: Callable[[CheckIn], None] | None = None) -> SweepReport:
    """Claim due check-ins batch by batch and do what each is due for.

    Stops when nothing is due, or, with ``time_budget`` (seconds), before
    claiming a batch once that long has passed: the next sweep goes on.
    """
    report = report or SweepReport()
    limit = batch_size or settings.SWEEP_BATCH_SIZE
    started = time.monotonic()
    while time_budget is None or time.monotonic() - started < time_budget:
        if stopping.stop_requested():
            # Asked to stop: claim nothing more (followups.delivery.stopping).
            break
        current = now or clock.database_now()
        token, claimed = claim_due_rows(queryset=_due_checkins(), now=current, limit=limit)
        if on_claimed:
            for checkin in claimed:
                on_claimed(checkin)
        checkins_process_claimed(checkins=claimed, token=token, now=current, report=report)
        if len(claimed) < limit:
            break
    return report


def checkins_fan_out(*, now: datetime) -> int:
    """Ask enough workers to deliver what is due; returns how many were asked.

    The tasks carry nothing: each worker claims its own batches. Asking
    costs one count over the due rows' partial index.
    """
    due = _due_checkins().filter(next_action_at__lte=now).count()
    workers = min(math.ceil(due / settings.DELIVERY_BATCH_SIZE), settings.DELIVERY_FAN_OUT_MAX)
    for _ in range(workers):
        enqueue.deliveries_enqueue()
    return workers


def followups_sweep(*, now: datetime | None = None, batch_size: int | None = None,
                    fan_out: bool = False,
                    on_claimed: Callable[[CheckIn], None] | None = None) -> SweepReport:
    """One sweep: the due check-ins, the urgent alerts, the cluster checks.

    ``now`` pins the clock (tests; otherwise the database's); ``on_claimed``
    sees each claimed check-in before it is worked on (the concurrency tests).
    """
    report = SweepReport()
    limit = batch_size or settings.SWEEP_BATCH_SIZE
    failed_parts = 0
    try:
        if fan_out:
            try:
                report.deliveries_asked = checkins_fan_out(now=now or clock.database_now())
            except (OSError, KombuOperationalError) as error:  # the broker is away
                logger.warning("sweep: could not ask the workers (%s); delivering here",
                               type(error).__name__)
                fan_out = False
        if not fan_out:
            checkins_deliver_due(now=now, batch_size=limit, report=report, on_claimed=on_claimed)
    except Exception as error:
        logger.exception("sweep: delivering check-ins failed; the next sweep retries")
        report.errors.append(type(error).__name__)
        failed_parts += 1
    try:
        escalation_alerts_process(now=now, limit=limit, report=report)
    except Exception as error:
        logger.exception("sweep: urgent alerts failed; the next sweep retries")
        report.errors.append(type(error).__name__)
        failed_parts += 1
    try:
        report.callback_reminders_sent += contact_reminders_process(now=now, limit=limit)
    except Exception as error:
        logger.exception("sweep: call-back reminders failed; the next sweep retries")
        report.errors.append(type(error).__name__)
        failed_parts += 1
    try:
        report.clusters_checked += escalation_clusters_process(now=now)
    except Exception as error:
        logger.exception("sweep: cluster checks failed; the next sweep retries")
        report.errors.append(type(error).__name__)
        failed_parts += 1
    if not failed_parts:
        # What readiness reads: a sweep that ran to its end (beat and a worker alive).
        sweep_heartbeat_record(now=clock.database_now())
    return report
