"""Mail catchers: recording backends, the file backend's folder read back, an SMTP server.

The backends are importable by path so a child process (a Celery worker,
``manage.py dispatch_checkins``) can be pointed at them through
``EMAIL_BACKEND``, like any other backend.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.filebased import EmailBackend as FileEmailBackend

from tests.support.net import free_port

_outbox_lock = threading.Lock()
_outbox: list[EmailMessage] = []


class RecordingEmailBackend(BaseEmailBackend):
    """Keeps every sent message in a process-wide list, safe under concurrent sweeps.

    Django's locmem backend is meant for one thread at a time; concurrent
    sweeps in threads all append here under one lock. Messages are stored as
    they would leave over SMTP (headers and all), parsed back.
    """

    def send_messages(self, email_messages):
        parsed = [_parse(message.message().as_bytes()) for message in email_messages]
        with _outbox_lock:
            _outbox.extend(parsed)
        return len(parsed)


def recorded_emails() -> list[EmailMessage]:
    with _outbox_lock:
        return list(_outbox)


def recorded_emails_clear() -> None:
    with _outbox_lock:
        _outbox.clear()


STALL_ENV = "AFTERCARE_TEST_SEND_STALL_SECONDS"


class SlowFileBackend(FileEmailBackend):
    """Writes the message to its file, then hangs before reporting success.

    Stands for an SMTP server that accepted the message while the worker died
    before recording it: kill the process during the stall and the email is
    out but the check-in still looks unsent. The stall comes from
    AFTERCARE_TEST_SEND_STALL_SECONDS (default 60).
    """

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        time.sleep(float(os.environ.get(STALL_ENV, "60")))
        return sent


_FILE_SEPARATOR = re.compile(rb"\n-{79}\n")


def _parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def mail_folder_messages(folder: Path) -> list[EmailMessage]:
    """Every message Django's file backend wrote into ``folder``, oldest file first."""
    messages = []
    if not folder.exists():
        return messages
    for path in sorted(folder.glob("*.log"), key=lambda p: (p.stat().st_mtime, p.name)):
        for chunk in _FILE_SEPARATOR.split(path.read_bytes()):
            if chunk.strip():
                messages.append(_parse(chunk.lstrip(b"\n")))
    return messages


def message_text(message: EmailMessage) -> str:
    """Headers and every decoded text part: all a reader of the email could see."""
    parts = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


def message_plain_body(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""


@dataclass
class RecordingSMTPServer:
    """An SMTP server on loopback that keeps what it receives (aiosmtpd)."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: object = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        message = _parse(envelope.original_content or envelope.content)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def start(self) -> RecordingSMTPServer:
        from aiosmtpd.controller import Controller

        self.port = self.port or free_port()
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)

    def __enter__(self) -> RecordingSMTPServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()



@dataclass
class FaultySMTPServer(RecordingSMTPServer):
    """An SMTP server on loopback that misbehaves as real ones do, by recipient.

    The recipient's address says what happens to the message (``+tag`` in
    its local part): ``rcpt550`` and ``rcpt451`` refuse the recipient for
    good or for now; ``data421-once`` answers the first DATA with 421 and
    closes; ``drop-once`` reads the first message then hangs up without a
    reply; ``hang-once`` keeps the first one waiting without an answer. Any
    address is delayed by ``delay`` seconds per message. ``attempts`` counts
    the DATA commands per Message-ID; ``messages`` keeps what got a 250.
    """

    delay: float = 0.0
    hang_seconds: float = 5.0
    attempts: dict = field(default_factory=dict)
    accepted_after_drop: list = field(default_factory=list)

    @staticmethod
    def _tags(address: str) -> set[str]:
        local = address.split("@", 1)[0]
        return set(local.split("+", 1)[1].split(".")) if "+" in local else set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        tags = self._tags(address)
        if "rcpt550" in tags:
            return "550 5.1.1 No such user here"
        if "rcpt451" in tags:
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        import asyncio

        message = _parse(envelope.original_content or envelope.content)
        message_id = message["Message-ID"]
        with self._lock:
            self.attempts[message_id] = attempt = self.attempts.get(message_id, 0) + 1
        tags = set().union(*(self._tags(address) for address in envelope.rcpt_tos))
        if self.delay:
            await asyncio.sleep(self.delay)
        if attempt == 1 and "data421-once" in tags:
            server.transport.close()
            return "421 4.3.2 Service shutting down, closing channel"
        if attempt == 1 and "drop-once" in tags:
            # The message was read, but the client never hears so: to the
            # sender it was not sent, and it may be sent (and read) again.
            with self._lock:
                self.accepted_after_drop.append(message_id)
            server.transport.close()
            return "250 never heard"
        if attempt == 1 and "hang-once" in tags:
            await asyncio.sleep(self.hang_seconds)
            server.transport.close()
            return "451 too late"
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"
