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
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)

_requested = threading.Event()
_sending = threading.local()
_sends_in_progress = 0
_lock = threading.Lock()


def stop_request() -> None:
    """Ask every sender of this process to stop before its next message."""
    if not _requested.is_set():
        logger.warning("stop requested: senders release their claims after the message "
                       "in hand")
    _requested.set()


def stop_requested() -> bool:
    return _requested.is_set()


def stop_forget() -> None:
    """Back to running (tests, and a pool process that is reused)."""
    _requested.clear()


@contextmanager
def sending() -> Iterator[None]:
    """Marks a sender at work: a SIGTERM then asks it to stop instead of killing the process."""
    global _sends_in_progress
    with _lock:
        _sends_in_progress += 1
    try:
        yield
    finally:
        with _lock:
            _sends_in_progress -= 1


def sends_in_progress() -> int:
    return _sends_in_progress


def sigterm_handler(signum: int, frame: object) -> None:
    """SIGTERM in a process that may be sending: stop after the message in hand.

    With no sender at work the signal does what it always did (the process
    ends), so a pool that terminates its idle processes is not held up.
    """
    stop_request()
    if sends_in_progress():
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
