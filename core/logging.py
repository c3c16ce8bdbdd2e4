"""Log lines a fleet can use, with credentials and health data kept out of them.

Each record is one JSON object on one line (``DJANGO_LOG_FORMAT=json``, the
default without DEBUG) carrying the request id of the web request or the id of
the Celery task it was written in, so that one patient's request can be
followed across web servers and one sweep across workers. Every line, plain or
JSON, message or traceback, is redacted last.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

from django.core.signals import request_finished

# The patient's link is /c/<token>/: whoever reads a log line must not be able
# to answer a patient's check-in, so the token is cut out of every record.
PATIENT_LINK = re.compile(r"/c/[A-Za-z0-9_\-]{8,}")

# A request id a proxy or load balancer sent us: kept if it looks like one.
REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9._:-]{8,128}")
REQUEST_ID_HEADER = "X-Request-ID"

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                        default=None)


def redact(text: str) -> str:
    return PATIENT_LINK.sub("/c/[redacted]", text)


class RedactPatientLinks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


def request_id_current() -> str | None:
    return _request_id.get()


class RequestIdMiddleware:
    """Gives each request an id (the proxy's X-Request-ID, or a new one), logged and returned."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = offered if REQUEST_ID_SHAPE.fullmatch(offered) else uuid.uuid4().hex
        # Kept until the request is finished, not only while the middleware
        # runs: Django logs a 4xx or 5xx after the middleware has returned.
        _request_id.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _request_id_forget(**_kwargs) -> None:
    _request_id.set(None)


request_finished.connect(_request_id_forget, dispatch_uid="core.logging.request_id")


class LogContext(logging.Filter):
    """Adds the request id and the Celery task's id and name to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        record.task_id = record.task_name = None
        try:
            from celery._state import get_current_task
        except ImportError:  # pragma: no cover - Celery is a dependency
            return True
        task = get_current_task()
        if task is not None and task.request.id:
            record.task_id, record.task_name = task.request.id, task.name
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line, redacted as a whole."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key in ("request_id", "task_id", "task_name"):
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return redact(json.dumps(entry, default=str))


class PlainFormatter(logging.Formatter):
    """The human format (the demo), redacted as a whole, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
