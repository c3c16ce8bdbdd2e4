"""Log filters that keep credentials and health data out of log lines."""

from __future__ import annotations

import logging
import re

# The patient's link is /c/<token>/: whoever reads a log line must not be able
# to answer a patient's check-in, so the token is cut out of every record.
PATIENT_LINK = re.compile(r"/c/[A-Za-z0-9_\-]{8,}")


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
