"""Celery tasks: thin doors onto the services. They take no patient data."""

import logging

from celery import shared_task

from followups.services import followups_sweep

logger = logging.getLogger(__name__)


# acks_late is safe: a re-delivered sweep claims nothing that another sweep
# holds, because each row is claimed by a conditional UPDATE.
@shared_task(name="followups.sweep", acks_late=True, ignore_result=True)
def sweep() -> dict:
    report = followups_sweep()
    logger.info("sweep: %s", report)
    return report.as_dict()
