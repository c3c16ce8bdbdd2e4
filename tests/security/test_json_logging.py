"""The JSON log format: one object per line, its ids, and the redaction applied to all of it."""

from __future__ import annotations

import io
import json
import logging

import pytest

from core.logging import JsonFormatter, LogContext, PlainFormatter, RedactPatientLinks

TOKEN = "q6Vt1R0xq0mC3o4Yl8r2gqP5uQJ0bWk3dEw9Zx1yA7s"


@pytest.fixture(autouse=True)
def outside_any_request():
    """An earlier test's unclosed streaming response may have left its request id behind."""
    from core import logging as clinic_logging

    clinic_logging._request_id_forget()


@pytest.fixture
def json_lines():
    """A logger writing through the product's filters and JSON formatter into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactPatientLinks())
    handler.addFilter(LogContext())
    logger = logging.getLogger("tests.json_logging")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, buffer
    logger.removeHandler(handler)


def test_each_record_is_one_json_line(json_lines):
    logger, buffer = json_lines

    logger.info("sent %d emails\nin two lines", 3)

    [line] = buffer.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "sent 3 emails\nin two lines"
    assert record["level"] == "INFO" and record["logger"] == "tests.json_logging"
    assert record["time"].endswith("+00:00")
    assert "request_id" not in record and "task_id" not in record


def test_a_token_is_cut_from_the_message_and_from_the_traceback(json_lines):
    logger, buffer = json_lines

    try:
        raise ValueError(f"could not open /c/{TOKEN}/")
    except ValueError:
        logger.exception("failed on /c/%s/", TOKEN)

    [line] = buffer.getvalue().splitlines()
    assert TOKEN not in line
    record = json.loads(line)
    assert record["message"] == "failed on /c/[redacted]/"
    assert "could not open /c/[redacted]/" in record["exception"]


def test_the_plain_format_redacts_tracebacks_too():
    formatter = PlainFormatter("%(levelname)s %(message)s")
    try:
        raise ValueError(f"/c/{TOKEN}/")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())

    assert TOKEN not in formatter.format(record)


@pytest.mark.django_db
def test_a_request_keeps_the_proxys_id_or_gets_one(client):
    given = client.get("/healthz", headers={"X-Request-ID": "lb-0123456789abcdef"})
    made = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith a newline"})

    assert given["X-Request-ID"] == "lb-0123456789abcdef"
    assert len(made["X-Request-ID"]) == 32 and "\n" not in made["X-Request-ID"]


@pytest.mark.django_db
def test_a_line_logged_after_the_view_still_carries_the_request_id(client, json_lines):
    logger, buffer = json_lines
    django_request = logging.getLogger("django.request")
    handler = logger.handlers[0]
    django_request.addHandler(handler)
    try:
        reply = client.get(f"/c/{TOKEN}/", headers={"X-Request-ID": "lb-request-000042"})
    finally:
        django_request.removeHandler(handler)

    assert reply.status_code == 404
    [record] = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert record["request_id"] == "lb-request-000042"
    assert record["message"] == "Not Found: /c/[redacted]/"
