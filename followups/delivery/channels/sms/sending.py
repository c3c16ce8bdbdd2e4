"""Sending texts: printed (``SMS_BACKEND=console``) or through Twilio's REST API.

Twilio's answers, as channel failures
(``followups.delivery.channels.base.Failure``):

- **permanent**: a number no text can reach: not a number (21211), not a
  mobile (21614), one that replied STOP (21610), a country not enabled
  (21408), one that cannot be routed (21612); any other refusal of the
  message (a 4xx);
- **temporary**: throttling (429, code 20429), Twilio's outage (a 5xx), a
  timeout or refused connection, our own credentials refused (401, 403):
  retried after the delivery backoff, up to the attempt cap.
"""

from __future__ import annotations

import logging
import sys
import threading

from django.conf import settings
from django.urls import reverse

from followups.delivery.channels.base import ChannelSession, Failure, SendResult, Undeliverable
from followups.delivery.channels.sms.messages import TextMessage
from followups.models import DeliveryStatus

logger = logging.getLogger(__name__)

PERMANENT_CODES = {
    21211: "not a valid phone number",
    21214: "not a reachable phone number",
    21408: "sending to this country is not enabled",
    21610: "the recipient replied STOP",
    21612: "the number cannot be reached from the sending number",
    21614: "not a mobile number (a landline)",
}


def sms_failure(error: BaseException) -> Failure:
    import requests
    from twilio.base.exceptions import TwilioRestException

    if isinstance(error, Undeliverable):
        return Failure.PERMANENT
    if isinstance(error, TwilioRestException):
        if error.code in PERMANENT_CODES:
            return Failure.PERMANENT
        if error.status == 429 or error.code == 20429 or error.status >= 500:
            return Failure.TEMPORARY
        if error.status in (401, 403):
            return Failure.TEMPORARY  # our credentials: every text would fail alike
        return Failure.PERMANENT if 400 <= error.status < 500 else Failure.TEMPORARY
    if isinstance(error, requests.RequestException | OSError):
        return Failure.TEMPORARY
    return Failure.TEMPORARY


def sms_reason(error: BaseException) -> str:
    """Twilio's code in our words: never its message, which quotes the number."""
    from twilio.base.exceptions import TwilioRestException

    if isinstance(error, TwilioRestException):
        what = PERMANENT_CODES.get(error.code or 0) or (
            "throttled" if error.status == 429 else f"HTTP {error.status}")
        return f"twilio {error.code or error.status}: {what}"[:250]
    if isinstance(error, Undeliverable):
        return f"Undeliverable: {error}"[:250]
    return f"{type(error).__name__}"[:250]


def status_callback_url() -> str:
    return settings.SITE_URL + reverse("sms-twilio-status")


class TwilioSession(ChannelSession[TextMessage]):
    """Texts through one Twilio client (one HTTP connection pool) for a batch."""

    _client = None

    def client(self):
        if self._client is None:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN,
                            http_client=TwilioHttpClient(timeout=15))
            # TWILIO_API_URL: Twilio itself, or a Twilio-compatible server (tests).
            client.api.base_url = settings.TWILIO_API_URL.rstrip("/")
            self._client = client
        return self._client

    def transmit(self, message: TextMessage) -> SendResult:
        sender = settings.TWILIO_FROM
        origin = ({"messaging_service_sid": sender} if sender.startswith("MG")
                  else {"from_": sender})
        sent = self.client().messages.create(to=message.to, body=message.body,
                                             status_callback=status_callback_url(), **origin)
        status = (DeliveryStatus.SENT if sent.status in ("sent", "delivered")
                  else DeliveryStatus.QUEUED)
        return SendResult(provider_message_id=str(sent.sid or ""), status=status)

    def reset(self) -> None:
        self._client = None


_print_lock = threading.Lock()


class ConsoleSession(ChannelSession[TextMessage]):
    """The demo's texts, printed whole (link included) like the console email backend's."""

    def transmit(self, message: TextMessage) -> SendResult:
        with _print_lock:
            sys.stdout.write(f"Text to {message.to}:\n{message.body}\n{'-' * 79}\n")
            sys.stdout.flush()
        return SendResult()
