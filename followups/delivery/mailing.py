"""Sending through a real mail server, and telling its answers apart.

Every outcome of one message is one of three, and the services act on it:

- **sent**;
- **temporary**: worth trying again later (a ``4xx`` reply, a timeout, a
  refused connection, a provider's outage): the attempt is counted and the
  next one waits a backoff, up to the attempt cap;
- **permanent**: trying again cannot help (a ``5xx`` for that recipient, an
  invalid address): the check-in ends ``failed`` at once, with the reason.

A dropped connection (a ``421``, a disconnect mid-message) is neither: the
connection is opened again and the message retried at once, once.
"""

from __future__ import annotations

import enum
import logging
import smtplib
import socket
from dataclasses import dataclass

from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail.backends.base import BaseEmailBackend
from django.core.validators import validate_email

logger = logging.getLogger(__name__)


class Outcome(enum.Enum):
    SENT = "sent"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    reason: str = ""
    # The provider's id for the message (django-anymail), to match its bounces.
    provider_message_id: str = ""
    # The error's class name, for the sweep's report and logs (no addresses).
    error_type: str = ""

    @property
    def sent(self) -> bool:
        return self.outcome is Outcome.SENT


class UndeliverableAddress(ValueError):
    """The recipient's address cannot be sent to, whatever the server says."""


_DROPPED = "dropped"


def _reason(error: BaseException) -> str:
    code = getattr(error, "smtp_code", None)
    text = getattr(error, "smtp_error", b"")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if code:
        return f"{code} {text}".strip()[:250]
    return f"{type(error).__name__}: {error}"[:250]


def mail_error_kind(error: BaseException) -> str:
    """``"dropped"``, ``"temporary"`` or ``"permanent"`` for an error raised while sending."""
    from anymail.exceptions import (
        AnymailAPIError,
        AnymailInvalidAddress,
        AnymailRecipientsRefused,
    )

    if isinstance(error, UndeliverableAddress | AnymailInvalidAddress | AnymailRecipientsRefused):
        return Outcome.PERMANENT.value
    if isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None) or 0
        # The provider refused this message (400, 422): permanent; its outage
        # or a rate limit (429, 5xx): temporary.
        return (Outcome.PERMANENT.value if 400 <= status < 500 and status != 429
                else Outcome.TEMPORARY.value)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in error.recipients.values()]
        return (Outcome.PERMANENT.value if codes and all(code >= 500 for code in codes)
                else Outcome.TEMPORARY.value)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return _DROPPED
    if isinstance(error, smtplib.SMTPSenderRefused | smtplib.SMTPAuthenticationError):
        # Our own sender or credentials: every message would fail alike; not
        # the patient's address. Retried, and logged as an error.
        return Outcome.TEMPORARY.value
    if isinstance(error, smtplib.SMTPResponseException):
        if error.smtp_code == 421:  # the server is closing the connection
            return _DROPPED
        return (Outcome.PERMANENT.value if 500 <= error.smtp_code < 600
                else Outcome.TEMPORARY.value)
    if isinstance(error, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return _DROPPED
    if isinstance(error, socket.timeout | TimeoutError | OSError | smtplib.SMTPException):
        return Outcome.TEMPORARY.value
    # Anything else (a bug, a message that cannot be built) is counted as a
    # failed attempt: retried, and given up at the cap.
    return Outcome.TEMPORARY.value


def address_check(address: str) -> None:
    """Refuse an address no server could deliver to, before anything is sent."""
    try:
        validate_email(address)
    except ValidationError:
        raise UndeliverableAddress(f"invalid email address {address!r}"[:120]) from None


def _provider_message_id(message) -> str:
    """The provider's id for a sent message (django-anymail's ``anymail_status``), or ""."""
    message_id = getattr(getattr(message, "anymail_status", None), "message_id", None)
    if message_id is None or isinstance(message_id, set):  # none, or one per recipient
        return ""
    return str(message_id)[:200]


class MailSession:
    """One connection for a batch of messages, opened again when the server drops it."""

    def __init__(self) -> None:
        self._connection: BaseEmailBackend | None = None

    def send(self, message) -> Delivery:
        for attempt in (1, 2):
            try:
                if self._connection is None:
                    self._connection = mail.get_connection()
                    self._connection.open()
                self._connection.send_messages([message])
            except Exception as error:
                kind = mail_error_kind(error)
                self._drop()
                if kind == _DROPPED and attempt == 1:
                    logger.warning("mail connection dropped (%s); reconnecting",
                                   type(error).__name__)
                    continue
                outcome = Outcome.TEMPORARY if kind == _DROPPED else Outcome(kind)
                return Delivery(outcome, reason=_reason(error), error_type=type(error).__name__)
            return Delivery(Outcome.SENT, provider_message_id=_provider_message_id(message))
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already gone: nothing to close
                pass

    def close(self) -> None:
        self._drop()

    def __enter__(self) -> MailSession:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
