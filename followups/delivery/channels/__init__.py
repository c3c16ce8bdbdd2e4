"""The channels check-ins go out through, by name; and which ones a check-in uses.

``base`` is the interface every channel provides; ``email`` and ``sms``
(texts) are the channels. ``checkin_channels`` chooses, per patient, from
their choice (``contact_by``) and what is open to them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import URLPattern, URLResolver

from followups.delivery.channels.base import Channel, ChannelRegistry, EventReport, Undeliverable
from followups.delivery.channels.email import EmailChannel
from followups.delivery.channels.sms import SmsChannel
from patients.models import ContactBy
from patients.phones import phone_is_textable

if TYPE_CHECKING:
    from followups.models import CheckIn
    from patients.models import Patient

registry = ChannelRegistry()
registry.register(EmailChannel())
registry.register(SmsChannel())


class NoChannelLeft(Undeliverable):
    """The patient opted out of (or cannot be reached by) every channel: call them instead."""


def patient_open_channels(patient: Patient) -> list[str]:
    """The channels the patient can be reached by and has not opted out of, email first."""
    open_ = []
    if patient.email and patient.email_opted_out_at is None:
        open_.append(EmailChannel.name)
    if patient.phone and phone_is_textable(patient.phone) and patient.sms_opted_out_at is None:
        open_.append(SmsChannel.name)
    return open_


def channel_names_for(patient: Patient, *, reminder: bool) -> list[str]:
    """Which channels a check-in's invitation (or reminder) goes out through.

    The invitation: every channel the patient chose that is open to them
    (one link, the same check-in, whichever they open). The reminder: the
    other channel, when the patient can be reached there and has not opted
    out of it: a text after an unanswered email (or the reverse) is where the
    reach is gained; with both chosen, both again. A patient whose chosen
    channels are all closed is reached by what is left open; with nothing
    open, ``NoChannelLeft``: the check-in goes on the "Call instead" list.
    """
    open_ = patient_open_channels(patient)
    chosen = [name for name in ContactBy.channels(patient.contact_by) if name in open_]
    if reminder:
        chosen = [name for name in open_ if name not in chosen] or chosen
    names = chosen or open_
    if not names:
        raise NoChannelLeft("the patient has no channel left (opted out): call instead")
    return names


def checkin_channels(checkin: CheckIn, *, reminder: bool = False) -> list[Channel[Any]]:
    """The channels a check-in's messages go out through (``channel_names_for``)."""
    return [registry.get(name)
            for name in channel_names_for(checkin.session.patient, reminder=reminder)]


def channels_urlpatterns() -> list[URLPattern | URLResolver]:
    """Every channel's provider callbacks, to be served at the site's root."""
    return [pattern for channel in registry for pattern in channel.urlpatterns()]


def channels_connect(*, report: EventReport) -> None:
    """Have every channel pass its provider's events on to ``report`` (at start-up)."""
    for channel in registry:
        channel.connect(report=report)
