"""An email provider's word about a message after it left: delivered, bounced, complained.

django-anymail turns each provider's tracking webhook into one ``tracking``
signal; this passes each event about a check-in email on as the channel's
``ProviderEvent``. A bounce, a rejection or a complaint means the patient
never read the email: its delivery is ``failed`` and so is the check-in,
exactly as a permanent refusal at send time (``followups.services``). A
delivery receipt marks the delivery ``delivered``. Other events (opens,
clicks, deferrals) are not kept.
"""

from __future__ import annotations

import logging
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType, tracking

from followups.delivery.channels.base import EventReport, ProviderEvent
from followups.delivery.channels.email.messages import checkin_message_ref
from followups.models import DeliveryStatus

logger = logging.getLogger(__name__)

UNDELIVERED_EVENTS = {EventType.BOUNCED: "bounced", EventType.REJECTED: "rejected by the provider",
                      EventType.COMPLAINED: "marked as spam", EventType.FAILED: "could not be sent"}


def provider_event(event: AnymailTrackingEvent, *, esp_name: str,
                   channel: str) -> ProviderEvent | None:
    """The channel's event for an anymail tracking event we keep, or None."""
    if not event.message_id:
        return None
    message_id = str(event.message_id)
    if event.event_type == EventType.DELIVERED:
        status, error = DeliveryStatus.DELIVERED, ""
    elif (what := UNDELIVERED_EVENTS.get(event.event_type)) is not None:
        detail = (event.description or event.reject_reason or "")[:150]
        status, error = DeliveryStatus.FAILED, f"{esp_name}: {what}" + (
            f" ({detail})" if detail else "")
    else:
        return None
    # The provider's id, stored when the message was sent; or our own
    # Message-ID, which some providers report back.
    return ProviderEvent(channel=channel, status=status, provider_message_id=message_id,
                         ours=checkin_message_ref(message_id), error=error,
                         at=event.timestamp)


class TrackingReceiver:
    """Connected to anymail's ``tracking`` signal; hands each kept event to ``report``."""

    def __init__(self, *, channel: str, report: EventReport) -> None:
        self.channel = channel
        self.report = report

    def __call__(self, sender: Any, event: AnymailTrackingEvent, esp_name: str,
                 **kwargs: Any) -> None:
        kept = provider_event(event, esp_name=esp_name, channel=self.channel)
        if kept is None:
            return
        if not self.report(kept):
            logger.info("%s %s event changed nothing (a message we do not know, or one "
                        "already settled)", esp_name, event.event_type)


def tracking_connect(*, channel: str, report: EventReport) -> None:
    # Held strongly: the receiver is this object, made here and referenced nowhere else.
    tracking.connect(TrackingReceiver(channel=channel, report=report), weak=False,
                     dispatch_uid="followups.delivery.channels.email.tracking")
