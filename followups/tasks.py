"""Celery tasks: thin doors onto the services. They take no patient data."""

import logging

from celery import shared_task
from django.conf import settings

from followups.audit import audit_purge
from followups.delivery import clock, stopping
from followups.delivery.enqueue import DELIVER_TASK, SWEEP_TASK
from followups.delivery.sweep import checkins_deliver_due, followups_sweep
from followups.desk.exports import EXPORT_TASK, export_build
from followups.desk.snapshot import dashboard_snapshots_refresh
from health.clock import clock_record

logger = logging.getLogger(__name__)


# Acknowledged on receipt, not late: the message is only a "sweep now" hint
# that is harmless when late, so a redelivery (after the broker's visibility timeout)
# would be discarded anyway, and rows a dead worker had claimed fall due again
# when their lease runs out. A late-acked sweep in flight when Redis drops is
# worse than useless: kombu tries to restore it over the dead connection and
# the worker exits ("Unrecoverable error"); tests/integration/test_faults.py.
@shared_task(name=SWEEP_TASK, ignore_result=True, bind=True)
def sweep(self) -> dict:
    stopping.stop_forget()  # a stop asked of an earlier task in this process is over
    _clock_record(self.request.hostname)
    report = followups_sweep(fan_out=True)
    logger.info("sweep: %s", report)
    return report.as_dict()


# Acknowledged on receipt too, for the same reasons: the task is a hint that
# carries nothing, and what a dead worker had claimed falls due again when its
# lease runs out. It stops claiming before the next minute's sweep asks again.
@shared_task(name=DELIVER_TASK, ignore_result=True, bind=True)
def deliver(self) -> dict:
    stopping.stop_forget()
    _clock_record(self.request.hostname)
    report = checkins_deliver_due(batch_size=settings.DELIVERY_BATCH_SIZE,
                                  time_budget=settings.DELIVERY_TASK_BUDGET.total_seconds())
    logger.info("deliver: %s", report)
    return report.as_dict()


# Daily (CELERY_BEAT_SCHEDULE): idempotent, so a redelivery only finds less to do.
@shared_task(name="followups.audit_purge", ignore_result=True, acks_late=True)
def purge_audit() -> int:
    deleted = audit_purge(now=clock.database_now(), retention_days=settings.AUDIT_RETENTION_DAYS)
    logger.info("audit purge: %s rows older than %s days", deleted,
                settings.AUDIT_RETENTION_DAYS)
    return deleted


# Every DASHBOARD_SNAPSHOT_EVERY (CELERY_BEAT_SCHEDULE): no arguments, counts only.
# A late or repeated run stores a newer snapshot, nothing else.
@shared_task(name="followups.dashboard_snapshot", ignore_result=True)
def dashboard_snapshot() -> str:
    snapshots = dashboard_snapshots_refresh()
    computed_at = snapshots[0].computed_at.isoformat()
    logger.info("dashboard snapshots (%s) counted as of %s", len(snapshots), computed_at)
    return computed_at


# Fetches by id and claims the row (pending → running): a re-delivery finds it
# taken and does nothing. Not acks_late: a worker killed mid-file leaves the
# export "being prepared"; asking again makes a new one.
@shared_task(name=EXPORT_TASK, ignore_result=True)
def build_export(export_id: int) -> int | None:
    export = export_build(export_id=export_id)
    return export.rows if export is not None else None


def _clock_record(hostname: str | None) -> None:
    """This worker's clock against the database's, for /readyz (health.clock)."""
    try:
        clock_record(process=f"worker {hostname or 'local'}")
    except Exception as error:  # a reading lost is not a sweep lost
        logger.warning("could not record this worker's clock (%s)", type(error).__name__)
