"""The sweep: everything due now, run every minute by beat and by ``dispatch_checkins``.

It claims the due check-ins in batches and hands each batch to the check-in
services, then the urgent alerts to the escalation services, then looks for
cluster signals around the escalations raised since the last sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from followups.claims import SweepReport, claim_due_rows
from followups.clusters import escalation_clusters_process
from followups.escalations import escalation_alerts_process
from followups.models import CheckIn
from followups.services import checkins_process_claimed


def followups_sweep(*, now: datetime | None = None, batch_size: int | None = None,
                    on_claimed: Callable[[CheckIn], None] | None = None) -> SweepReport:
    """One sweep: the due check-ins, the urgent alerts, the cluster checks.

    ``now`` pins the clock (tests); ``on_claimed`` sees each claimed check-in
    before it is worked on (the concurrency tests use it).
    """
    report = SweepReport()
    limit = batch_size or settings.SWEEP_BATCH_SIZE
    while True:
        current = now or timezone.now()
        token, claimed = claim_due_rows(
            queryset=CheckIn.objects.filter(status__in=CheckIn.OPEN_STATUSES)
            .select_related("session__patient__clinic"),
            now=current, limit=limit,
        )
        if on_claimed:
            for checkin in claimed:
                on_claimed(checkin)
        checkins_process_claimed(claimed, token=token, now=current, report=report)
        if len(claimed) < limit:
            break
    escalation_alerts_process(now=now, limit=limit, report=report)
    report.clusters_checked += escalation_clusters_process(now=now)
    return report
