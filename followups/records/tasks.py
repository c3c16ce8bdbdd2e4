"""The daily retention task: a thin door onto the erasure service. It takes no patient data."""

import logging

from celery import shared_task

from followups.records.erasure import retention_erase_due

logger = logging.getLogger(__name__)

RETENTION_TASK = "records.retention"


# Late-acked: erasing is idempotent (an erased patient is never picked again).
@shared_task(name=RETENTION_TASK, ignore_result=True, acks_late=True)
def retention() -> dict:
    report = retention_erase_due()
    logger.info("retention: %s", report.as_dict())
    return report.as_dict()
