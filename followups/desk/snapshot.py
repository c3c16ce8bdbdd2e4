"""The network's dashboard counts, computed every few minutes rather than on every page.

A network-wide user's dashboard counted every clinic's check-ins, answers and
flags of the last 30 days on each visit: 7.8 s at 1,000 clinics, and ten
times more at ten times the clinics. Those counts change slowly and are read
far more often than they change, so a periodic task
(``CELERY_BEAT_SCHEDULE["followups-dashboard-snapshot"]``) counts them once,
on the database's clock, and stores them in one row; the page reads that row
and says when it was counted. A snapshot older than
``DASHBOARD_SNAPSHOT_MAX_AGE`` is not shown: the page counts live instead
(``followups.desk.dashboard.network_snapshot_fresh``).

The flags to act on (urgent, review, overdue) are never read from here:
they are counted live on every page, as are a single clinic's figures.
"""

from __future__ import annotations

from datetime import datetime

from followups.delivery.clock import database_now
from followups.desk.dashboard import NETWORK, growing_counts
from followups.models import DashboardSnapshot
from patients.models import Clinic

__all__ = ["NETWORK", "network_snapshot_refresh"]


def network_snapshot_refresh(*, now: datetime | None = None) -> DashboardSnapshot:
    """Count the network's growing figures at ``now`` (the database's clock) and store them."""
    now = now or database_now()
    clinics = Clinic.objects.all()
    counts = growing_counts(zoned=clinics, clinics=list(clinics), clinic_ids=None, now=now)
    snapshot, _ = DashboardSnapshot.objects.update_or_create(
        scope=NETWORK, defaults={"computed_at": now, "counts": counts})
    return snapshot
