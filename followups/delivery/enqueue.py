"""Asking the workers for a sweep now, without importing the tasks that run it.

The services that make work due at once (an urgent escalation, a resent
check-in) call this; the task is sent by its registered name, so the
services never import ``followups.tasks``, which imports them.
"""

from __future__ import annotations

import logging

from celery import current_app

logger = logging.getLogger(__name__)

SWEEP_TASK = "followups.sweep"
DELIVER_TASK = "followups.deliver"


def sweep_enqueue() -> None:
    """Ask a worker to sweep now; if the broker is away the minute's beat will."""
    try:
        # Expires: a sweep asked for a minute ago is the beat's sweep by now.
        current_app.send_task(SWEEP_TASK, retry=False, expires=55)
    except Exception as error:  # the broker being down must never fail a request
        logger.warning("could not enqueue a sweep (%s); the periodic sweep will run it",
                       type(error).__name__)


def deliveries_enqueue() -> None:
    """Ask one worker to deliver due check-ins; raises if the broker is away.

    The sweep that asks falls back to delivering them itself.
    """
    # Expires: by then the next minute's sweep has asked again.
    current_app.send_task(DELIVER_TASK, retry=False, expires=55)
