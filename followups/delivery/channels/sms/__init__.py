"""The text-message channel: check-in texts printed (the demo) or sent through Twilio.

``messages`` builds the texts (one GSM-7 segment where the language
allows: ``gsm``), ``sending`` sends them and tells Twilio's answers apart,
``callbacks`` serves Twilio's signed status and inbound callbacks,
``keywords`` reads STOP and START in English, French and Spanish.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import URLPattern, URLResolver, path

from followups.delivery.channels.base import (
    Channel,
    ChannelSession,
    EventReport,
    Failure,
)
from followups.delivery.channels.sms.callbacks import Callbacks, signed
from followups.delivery.channels.sms.messages import TextMessage, checkin_text
from followups.delivery.channels.sms.sending import (
    ConsoleSession,
    TwilioSession,
    sms_failure,
    sms_reason,
)

if TYPE_CHECKING:
    from followups.models import CheckIn


class SmsChannel(Channel[TextMessage]):
    name = "sms"

    def __init__(self) -> None:
        self.callbacks = Callbacks(self.name)

    def checkin_message(self, checkin: CheckIn, *, token: str, reminder: bool) -> TextMessage:
        return checkin_text(checkin, token=token, reminder=reminder)

    def session(self) -> ChannelSession[TextMessage]:
        return TwilioSession(self) if settings.SMS_BACKEND == "twilio" else ConsoleSession(self)

    def classify(self, error: BaseException) -> Failure:
        return sms_failure(error)

    def reason(self, error: BaseException) -> str:
        return sms_reason(error)

    def urlpatterns(self) -> list[URLPattern | URLResolver]:
        return [
            path("sms/twilio/status/", signed(self.callbacks.status), name="sms-twilio-status"),
            path("sms/twilio/inbound/", signed(self.callbacks.inbound),
                 name="sms-twilio-inbound"),
        ]

    def connect(self, *, report: EventReport) -> None:
        self.callbacks.report = report
