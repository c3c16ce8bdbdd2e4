"""An email provider's word about a message after it left: bounces and complaints.

django-anymail turns each provider's tracking webhook into one ``tracking``
signal. A bounce, a rejection or a complaint means the patient never read
the check-in email: the check-in is ``failed`` with the reason, exactly as a
permanent refusal at send time, and the patient is put in front of staff.
"""

from __future__ import annotations

import logging

from anymail.signals import EventType, tracking
from django.db.models import Q
from django.dispatch import receiver

from followups.models import CheckIn
from followups.services import checkin_delivery_failed

logger = logging.getLogger(__name__)

UNDELIVERED_EVENTS = {EventType.BOUNCED: "bounced", EventType.REJECTED: "rejected by the provider",
                      EventType.COMPLAINED: "marked as spam", EventType.FAILED: "could not be sent"}


@receiver(tracking, dispatch_uid="followups.checkin_undelivered")
def checkin_undelivered(sender, event, esp_name, **kwargs) -> None:
    what = UNDELIVERED_EVENTS.get(event.event_type)
    if what is None or not event.message_id:
        return
    # The provider's id, stored when the message was sent; or our own
    # Message-ID, which some providers report back.
    ours = _checkin_of(event.message_id)
    checkin = (CheckIn.objects.select_related("session__patient__clinic")
               .filter(Q(provider_message_id=event.message_id)
                       | (Q(pk=ours[0], send_generation=ours[1]) if ours else Q(pk__in=[])))
               .first())
    if checkin is None:
        logger.info("%s %s event for a message we do not know", esp_name, event.event_type)
        return
    detail = (event.description or event.reject_reason or "")[:150]
    reason = f"{esp_name}: {what}" + (f" ({detail})" if detail else "")
    if checkin_delivery_failed(checkin=checkin, reason=reason):
        logger.warning("check-in #%s: the provider reported it %s", checkin.pk, what)


def _checkin_of(message_id: str) -> tuple[int, int] | None:
    """(check-in id, send generation) of one of our Message-IDs, ``<checkin-ID-GEN-KIND@…>``.

    A bounce of an email sent before a staff resend names an older generation:
    it says nothing about the new address.
    """
    local = message_id.strip().strip("<>").split("@", 1)[0]
    parts = local.split("-")
    if len(parts) == 4 and parts[0] == "checkin" and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1]), int(parts[2])
    return None
