"""The daily retention task: a thin door onto the erasure service. It takes no patient data."""

import logging

from celery import shared_task

from followups.records.erasure import retention_erase_due

logger = logging.getLogger(__name__)

RETENTION_TASK = "records.retention"


# Acknowledged on receipt: a run can outlast the broker's visibility timeout,
# and a second copy would only find the same patients already erased. A run
# a dead worker left unfinished is finished by the next day's.
@shared_task(name=RETENTION_TASK, ignore_result=True)
def retention() -> dict:
    report = retention_erase_due()
    logger.info("retention: %s", report.as_dict())
    return report.as_dict()
