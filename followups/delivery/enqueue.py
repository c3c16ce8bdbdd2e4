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
        # No expiry (an absolute time on this process's clock, which a worker
        # whose clock is ahead would take for the past): a late sweep is harmless.
        current_app.send_task(SWEEP_TASK, retry=False)
    except Exception as error:  # the broker being down must never fail a request
        logger.warning("could not enqueue a sweep (%s); the periodic sweep will run it",
                       type(error).__name__)


def deliveries_enqueue() -> None:
    """Ask one worker to deliver due check-ins; raises if the broker is away.

    The sweep that asks falls back to delivering them itself.
    """
    # No expiry, as for the sweep: a late one claims what is still due, or nothing.
    current_app.send_task(DELIVER_TASK, retry=False)
