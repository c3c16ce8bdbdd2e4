"""Celery tasks: thin doors onto the services. They take no patient data."""

import logging

from celery import shared_task

from followups.enqueue import SWEEP_TASK
from followups.sweep import followups_sweep

logger = logging.getLogger(__name__)


# Acknowledged on receipt, not late: the message is only a "sweep now" hint
# that expires in 55 s, so a redelivery (after the broker's visibility timeout)
# would be discarded anyway, and rows a dead worker had claimed fall due again
# when their lease runs out. A late-acked sweep in flight when Redis drops is
# worse than useless: kombu tries to restore it over the dead connection and
# the worker exits ("Unrecoverable error"); tests/integration/test_faults.py.
@shared_task(name=SWEEP_TASK, ignore_result=True)
def sweep() -> dict:
    report = followups_sweep()
    logger.info("sweep: %s", report)
    return report.as_dict()
