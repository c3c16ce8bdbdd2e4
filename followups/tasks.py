"""Celery tasks: thin doors onto the services. They take no patient data."""

import logging

from celery import shared_task
from django.conf import settings

from followups.delivery import stopping
from followups.delivery.enqueue import DELIVER_TASK, SWEEP_TASK
from followups.delivery.sweep import checkins_deliver_due, followups_sweep
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


def _clock_record(hostname: str | None) -> None:
    """This worker's clock against the database's, for /readyz (health.clock)."""
    try:
        clock_record(process=f"worker {hostname or 'local'}")
    except Exception as error:  # a reading lost is not a sweep lost
        logger.warning("could not record this worker's clock (%s)", type(error).__name__)
