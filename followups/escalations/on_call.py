"""The second channel for urgent flags: a text to the clinic's on-call phone.

An urgent flag still open ``URGENT_ESCALATE_MINUTES`` after it was raised
(default 30) is texted, once, to the clinic's on-call phone (``Clinic.
on_call_phone``; its rota says who carries it), before the 2-hour email to
every staff member; and at once when the clinic's alert address refuses the
alert for good. The text holds the clinic's name and a link to the flag in
the admin: no name, no symptom, nothing about the patient
(``channels/sms/messages.on_call_text``). It goes through the text channel's
session (Twilio, or the console in the demo), its failures told apart as a
check-in text's are; a failed text is logged and kept as the escalation's
last error, and the email re-notification still follows.

The alert loop (``followups.escalations.services``) calls ``on_call_due``
and ``on_call_text_send`` and asks ``on_call_next_action`` when to look again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings

from followups.delivery.channels import registry
from followups.delivery.channels.base import Failure, SendResult
from followups.delivery.channels.sms import SmsChannel
from followups.delivery.channels.sms.messages import on_call_text
from followups.models import Escalation

logger = logging.getLogger(__name__)


def on_call_due_at(escalation: Escalation) -> datetime | None:
    """When the on-call text is due, or None when none will go (none set, sent, handled)."""
    if (not escalation.patient.clinic.on_call_phone or escalation.on_call_texted_at is not None
            or escalation.status != Escalation.Status.OPEN):
        return None
    return escalation.created_at + timedelta(minutes=settings.URGENT_ESCALATE_MINUTES)


def on_call_due(escalation: Escalation, *, now: datetime) -> bool:
    due = on_call_due_at(escalation)
    return due is not None and now >= due


def on_call_next_action(escalation: Escalation, *, then: datetime | None) -> datetime | None:
    """The earlier of ``then`` (the loop's own next action) and the on-call text's time."""
    due = on_call_due_at(escalation)
    if due is None:
        return then
    return due if then is None else min(due, then)


def on_call_text_send(escalation: Escalation, *, now: datetime) -> SendResult:
    """Text the on-call phone about ``escalation`` once; records when (or why not) on the row."""
    phone = escalation.patient.clinic.on_call_phone
    try:
        message = on_call_text(escalation, to=str(phone.as_e164))
        with registry.get(SmsChannel.name).session() as session:
            result = session.send(message)
    except Exception as error:  # a bug or a bad number: logged, never the loop's end
        logger.exception("urgent escalation #%s: the on-call text could not be built",
                         escalation.pk)
        result = SendResult(Failure.PERMANENT, reason=f"not built: {type(error).__name__}",
                            error_type=type(error).__name__)
    changes: dict = {"on_call_texted_at": now}
    if result.failure is not None:
        logger.error("urgent escalation #%s: the on-call text failed (%s)", escalation.pk,
                     result.reason)
        changes["last_error"] = f"on-call text: {result.reason}"[:300]
    # Once, whatever came of it: the email to every staff member still follows.
    Escalation.objects.filter(pk=escalation.pk).update(**changes)
    escalation.on_call_texted_at = now
    return result
