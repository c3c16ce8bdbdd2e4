"""A worker asked to stop: the sender finishes the message in hand and sends nothing more.

``docker stop`` (or any SIGTERM) gives a container a grace period, then kills
it. A deliver task runs for up to a minute: killed mid-batch, every row it
had claimed would wait for its lease, and the message it was sending would
go again. So a stop request is noticed before each message: the sender
releases what it still holds (due again at once, for another worker) and
returns. The wiring to the worker's signals is in ``clinic/celery.py``.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)

_requested = threading.Event()


def stop_request() -> None:
    """Ask every sender of this process to stop before its next message."""
    if not _requested.is_set():
        logger.warning("stop requested: senders release their claims after the message "
                       "in hand")
    _requested.set()


def stop_requested() -> bool:
    return _requested.is_set()


def stop_forget() -> None:
    """Back to running: a new task in a process that was not shutting down (and tests)."""
    _requested.clear()


def _on_sigterm(signum: int, frame: object) -> None:
    stop_request()


@contextmanager
def sending() -> Iterator[None]:
    """While a sender works, SIGTERM asks it to stop after the message in hand.

    Outside it the signal does what it did before (a Celery pool process
    ends at once), so idle processes are not held up. Only the main thread
    can take signals: in a threads pool the worker's own shutdown signal
    (``clinic/celery.py``) asks instead.
    """
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
