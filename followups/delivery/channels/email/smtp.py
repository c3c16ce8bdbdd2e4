"""Sending email through the configured backend, and telling its answers apart.

A mail server's (or an email provider's) answer is one of the channel
failures (``followups.delivery.channels.base.Failure``):

- **temporary**: a ``4xx`` reply, a timeout, a refused connection, our own
  sender or credentials refused, the provider's outage or rate limit;
- **permanent**: a ``5xx`` for that recipient, an invalid address, a
  message the provider refuses;
- **connection**: a ``421`` or a hang-up mid-message: the session opens
  the connection again and retries the message at once, once.
"""

from __future__ import annotations

import smtplib
import socket

from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from followups.delivery.channels.base import ChannelSession, Failure, SendResult, Undeliverable
from followups.models import DeliveryStatus


def email_failure(error: BaseException) -> Failure:
    """What an error raised while sending an email means for it."""
    from anymail.exceptions import (
        AnymailAPIError,
        AnymailInvalidAddress,
        AnymailRecipientsRefused,
    )

    if isinstance(error, Undeliverable | AnymailInvalidAddress | AnymailRecipientsRefused):
        return Failure.PERMANENT
    if isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None) or 0
        # The provider refused this message (400, 422): permanent; its outage
        # or a rate limit (429, 5xx): temporary.
        return (Failure.PERMANENT if 400 <= status < 500 and status != 429
                else Failure.TEMPORARY)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in error.recipients.values()]
        return (Failure.PERMANENT if codes and all(code >= 500 for code in codes)
                else Failure.TEMPORARY)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return Failure.CONNECTION
    if isinstance(error, smtplib.SMTPSenderRefused | smtplib.SMTPAuthenticationError):
        # Our own sender or credentials: every message would fail alike; not
        # the patient's address. Retried, and logged as an error.
        return Failure.TEMPORARY
    if isinstance(error, smtplib.SMTPResponseException):
        if error.smtp_code == 421:  # the server is closing the connection
            return Failure.CONNECTION
        return Failure.PERMANENT if 500 <= error.smtp_code < 600 else Failure.TEMPORARY
    if isinstance(error, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return Failure.CONNECTION
    if isinstance(error, socket.timeout | TimeoutError | OSError | smtplib.SMTPException):
        return Failure.TEMPORARY
    # Anything else (a bug, a message that cannot be built) is counted as a
    # failed attempt: retried, and given up at the cap.
    return Failure.TEMPORARY


def email_reason(error: BaseException) -> str:
    """The server's code and text when it gave them, else the error's class and message."""
    code = getattr(error, "smtp_code", None)
    text = getattr(error, "smtp_error", b"")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if code:
        return f"{code} {text}".strip()[:250]
    return f"{type(error).__name__}: {error}"[:250]


def _provider_status(message: EmailMessage) -> tuple[str, DeliveryStatus]:
    """The provider's id for a sent message (django-anymail's ``anymail_status``), or "";

    and ``queued`` when the provider only took it to send later.
    """
    status = getattr(message, "anymail_status", None)
    message_id = getattr(status, "message_id", None)
    if message_id is None or isinstance(message_id, set):  # none, or one per recipient
        message_id = ""
    queued = getattr(status, "status", None) == {"queued"}
    return str(message_id)[:200], DeliveryStatus.QUEUED if queued else DeliveryStatus.SENT


class EmailSession(ChannelSession[EmailMessage]):
    """One connection to the email backend for a batch of messages."""

    _connection: BaseEmailBackend | None = None

    def transmit(self, message: EmailMessage) -> SendResult:
        if self._connection is None:
            self._connection = mail.get_connection()
            self._connection.open()
        self._connection.send_messages([message])
        provider_message_id, status = _provider_status(message)
        return SendResult(provider_message_id=provider_message_id, status=status)

    def reset(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already gone: nothing to close
                pass
