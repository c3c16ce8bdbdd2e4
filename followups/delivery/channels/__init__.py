"""The channels check-ins go out through, by name; and which ones a check-in uses.

``base`` is the interface every channel provides; ``email`` is the one
channel for now. Texts come next, beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import URLPattern, URLResolver

from followups.delivery.channels.base import Channel, ChannelRegistry, EventReport
from followups.delivery.channels.email import EmailChannel

if TYPE_CHECKING:
    from followups.models import CheckIn

registry = ChannelRegistry()
registry.register(EmailChannel())


def checkin_channels(checkin: CheckIn) -> list[Channel[Any]]:
    """The channels a check-in's messages go out through: every patient's is email, for now."""
    return [registry.get(EmailChannel.name)]


def channels_urlpatterns() -> list[URLPattern | URLResolver]:
    """Every channel's provider callbacks, to be served at the site's root."""
    return [pattern for channel in registry for pattern in channel.urlpatterns()]


def channels_connect(*, report: EventReport) -> None:
    """Have every channel pass its provider's events on to ``report`` (at start-up)."""
    for channel in registry:
        channel.connect(report=report)
