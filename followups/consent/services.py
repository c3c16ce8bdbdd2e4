"""Opting out of a channel and back in; the check-ins to phone instead.

An opt-out is recorded on the patient (``<channel>_opted_out_at`` and how)
and in the audit trail (who, when, how): the patient themselves (the
unsubscribe link, a STOP reply) or a staff member. The patient is never
messaged on that channel again until they opt back in (START, or staff);
with no channel left, each check-in that would have gone is put on the
"Call instead" list (``call_instead_record``) rather than dropped.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from followups.audit import audit_record
from followups.models import AuditEvent, CallInstead, CheckIn
from patients.models import Patient

logger = logging.getLogger(__name__)

CHANNELS = ("email", "sms")


class How:
    """How an opt-out (or opt-in) came: kept on the patient and in the audit trail."""

    LINK = "unsubscribe link"
    ONE_CLICK = "one-click unsubscribe"
    REPLY = "text reply"
    STAFF = "staff"


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValidationError({"channel": f"Unknown channel {channel!r}."})


def patient_opt_out(*, patient: Patient, channel: str, how: str, actor=None,
                    now: datetime | None = None) -> bool:
    """Stop messaging ``patient`` on ``channel``; returns whether anything changed."""
    _check_channel(channel)
    now = now or timezone.now()
    with transaction.atomic():
        changed = Patient.objects.filter(
            pk=patient.pk, **{f"{channel}_opted_out_at__isnull": True},
        ).update(**{f"{channel}_opted_out_at": now, f"{channel}_opted_out_how": how[:40]})
        if changed:
            audit_record(actor=actor, action=AuditEvent.Action.OPT_OUT, patient=patient,
                         target=f"{channel} ({how})")
    if changed:
        patient.refresh_from_db(fields=[f"{channel}_opted_out_at", f"{channel}_opted_out_how"])
    return bool(changed)


def patient_opt_in(*, patient: Patient, channel: str, how: str, actor=None) -> bool:
    """Message ``patient`` on ``channel`` again; returns whether anything changed."""
    _check_channel(channel)
    with transaction.atomic():
        changed = Patient.objects.filter(
            pk=patient.pk, **{f"{channel}_opted_out_at__isnull": False},
        ).update(**{f"{channel}_opted_out_at": None, f"{channel}_opted_out_how": ""})
        if changed:
            audit_record(actor=actor, action=AuditEvent.Action.OPT_IN, patient=patient,
                         target=f"{channel} ({how})")
    if changed:
        patient.refresh_from_db(fields=[f"{channel}_opted_out_at", f"{channel}_opted_out_how"])
    return bool(changed)


def sms_keyword_received(*, number: str, opt_out: bool, word: str) -> int:
    """STOP (or START) from ``number``: every patient with that mobile number; how many changed.

    A number shared by several patients (a parent's phone) stops texts to
    each of them, as Twilio itself stops every text to it.
    """
    changed = 0
    for patient in Patient.objects.select_related("clinic").filter(phone=number):
        if opt_out:
            changed += patient_opt_out(patient=patient, channel="sms", how=How.REPLY)
        else:
            changed += patient_opt_in(patient=patient, channel="sms", how=How.REPLY)
    logger.info("text reply %s: %s patient(s) changed", word, changed)
    return changed


def call_instead_record(*, checkin: CheckIn, now: datetime) -> CallInstead:
    """The check-in could not be sent to anyone: on the "Call instead" list (once)."""
    call, _created = CallInstead.objects.get_or_create(
        checkin=checkin, defaults={"patient_id": checkin.session.patient_id, "created_at": now})
    return call


def call_instead_done(*, call: CallInstead, actor) -> CallInstead:
    with transaction.atomic():
        call = CallInstead.objects.select_for_update().select_related(
            "patient__clinic", "checkin").get(pk=call.pk)
        if call.done_at is not None:
            raise ValidationError("This call is already marked done.")
        call.done_at, call.done_by = timezone.now(), actor
        call.save(update_fields=["done_at", "done_by"])
        audit_record(actor=actor, action=AuditEvent.Action.CALL_DONE, patient=call.patient,
                     target=str(call))
    return call
