"""Dashboard counts of many clinics, computed every few minutes rather than on every page.

A network-wide user's dashboard counted every clinic's check-ins, answers and
flags of the last 30 days on each visit: 7.8 s at 1,000 clinics, and ten
times more at ten times the clinics; a member of 20 clinics waited 0.4–0.8 s.
Those counts change slowly and are read far more often than they change, so
a periodic task (``CELERY_BEAT_SCHEDULE["followups-dashboard-snapshot"]``)
counts them, on the database's clock, once for the network and once for each
set of clinics a member of ``GROUP_SNAPSHOT_FROM_CLINICS`` or more belongs to,
and stores one row each; the page reads its row and says when it was counted.
A snapshot older than ``DASHBOARD_SNAPSHOT_MAX_AGE`` is not shown: the page
counts live instead (``followups.desk.dashboard.snapshot_fresh``).

The flags to act on (urgent, review, overdue) are never read from here:
they are counted live on every page, as are the figures of a user of fewer
clinics.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db.models import Count

from followups.delivery.clock import database_now
from followups.desk.dashboard import (
    GROUP_PREFIX,
    GROUP_SNAPSHOT_FROM_CLINICS,
    NETWORK,
    clinics_scope,
    group_scope,
    growing_counts,
)
from followups.models import DashboardSnapshot
from patients.models import Clinic, ClinicMembership

__all__ = ["NETWORK", "dashboard_snapshots_refresh", "group_snapshot_refresh",
           "network_snapshot_refresh"]


def network_snapshot_refresh(*, now: datetime | None = None) -> DashboardSnapshot:
    """Count the network's growing figures at ``now`` (the database's clock) and store them."""
    now = now or database_now()
    clinics = Clinic.objects.all()
    counts = growing_counts(zoned=clinics, clinics=list(clinics), clinic_ids=None, now=now)
    snapshot, _ = DashboardSnapshot.objects.update_or_create(
        scope=NETWORK, defaults={"computed_at": now, "counts": counts})
    return snapshot


def group_snapshot_refresh(clinic_ids: frozenset[int], *,
                           now: datetime | None = None) -> DashboardSnapshot:
    """Count one set of clinics' growing figures at ``now`` and store them, with the set."""
    now = now or database_now()
    ids = sorted(clinic_ids)
    clinics = list(Clinic.objects.filter(pk__in=ids))
    counts = growing_counts(zoned=clinics, clinics=clinics, clinic_ids=ids, now=now)
    counts["clinic_ids"] = ids
    snapshot, _ = DashboardSnapshot.objects.update_or_create(
        scope=group_scope(clinic_ids), defaults={"computed_at": now, "counts": counts})
    return snapshot


def member_clinic_sets() -> set[frozenset[int]]:
    """The distinct sets of clinics of active staff members of many clinics (superusers,
    and members of every clinic, read the network's snapshot)."""
    members = (ClinicMembership.objects
               .filter(user__is_active=True, user__is_staff=True, user__is_superuser=False)
               .values("user").annotate(clinics=Count("clinic"))
               .filter(clinics__gte=GROUP_SNAPSHOT_FROM_CLINICS).values("user"))
    sets: dict[int, set[int]] = defaultdict(set)
    for user_id, clinic_id in (ClinicMembership.objects.filter(user__in=members)
                               .values_list("user_id", "clinic_id")):
        sets[user_id].add(clinic_id)
    return {frozenset(clinic_ids) for clinic_ids in sets.values()}


def dashboard_snapshots_refresh(*, now: datetime | None = None) -> list[DashboardSnapshot]:
    """The network's snapshot and every member set's, at one ``now``; a set nobody has any
    more loses its snapshot."""
    now = now or database_now()
    snapshots = [network_snapshot_refresh(now=now)]
    clinics_in_network = Clinic.objects.count()
    # A member of every clinic reads the network's, counted just above: not twice.
    snapshots += [group_snapshot_refresh(clinic_ids, now=now)
                  for clinic_ids in member_clinic_sets()
                  if clinics_scope(clinic_ids, clinics_in_network=lambda: clinics_in_network)
                  != NETWORK]
    (DashboardSnapshot.objects.filter(scope__startswith=GROUP_PREFIX)
     .exclude(scope__in=[snapshot.scope for snapshot in snapshots]).delete())
    return snapshots
