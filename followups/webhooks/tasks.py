"""The webhook deliveries' task: a thin door onto the service. It takes no patient data."""

import logging

from celery import shared_task

from followups.webhooks.delivery import webhooks_deliver_due
from followups.webhooks.events import DELIVER_TASK

logger = logging.getLogger(__name__)


# Acknowledged on receipt: the message is a hint carrying nothing; the rows
# are the record of what is due, and a dead worker's claims fall due again.
@shared_task(name=DELIVER_TASK, ignore_result=True)
def deliver() -> dict:
    report = webhooks_deliver_due()
    logger.info("webhooks: %s", report.as_dict())
    return report.as_dict()
