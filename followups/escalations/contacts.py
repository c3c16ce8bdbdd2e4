"""Calls to flagged patients: each attempt recorded, who is calling, when to try again.

A contact attempt is the nurse's record of a call: what came of it, a note,
and an optional time to try again. Recording one acknowledges an open flag
(someone is on it) and, when nobody is assigned yet, assigns the caller. A
promised call-back that passes puts the escalation back on top of the queue
(``followups.desk`` reads ``Escalation.next_attempt_at``) and the sweep
reminds the assignee once, by an email that names no patient and no symptom.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.utils import formataddr

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse

from followups.audit import audit_record
from followups.delivery import clock
from followups.delivery.channels import registry
from followups.delivery.channels.email import EmailChannel
from followups.delivery.channels.email.messages import site_domain
from followups.models import CONTACT_NOTE_MAX_LENGTH, AuditEvent, ContactAttempt, Escalation

logger = logging.getLogger(__name__)

OUTCOMES = ContactAttempt.Outcome


def _locked(escalation: Escalation) -> Escalation:
    return (Escalation.objects.select_for_update(of=("self",))
            .select_related("patient__clinic").get(pk=escalation.pk))


def contact_record(*, escalation: Escalation, actor, outcome: str, note: str = "",
                   next_attempt_at: datetime | None = None,
                   now: datetime | None = None) -> ContactAttempt:
    """Record a call to the patient; a ValidationError names the field at fault."""
    now = now or clock.database_now()
    note = (note or "").strip()
    errors: dict[str, str] = {}
    if outcome not in OUTCOMES.values:
        errors["outcome"] = f"Choose one of: {', '.join(OUTCOMES.values)}."
    if len(note) > CONTACT_NOTE_MAX_LENGTH:
        errors["note"] = f"At most {CONTACT_NOTE_MAX_LENGTH} characters."
    if next_attempt_at is not None and next_attempt_at <= now:
        errors["next_attempt_at"] = "The next attempt must be in the future."
    if outcome == OUTCOMES.WRONG_NUMBER and next_attempt_at is not None:
        errors["next_attempt_at"] = "A wrong number cannot be tried again: correct it first."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        escalation = _locked(escalation)
        if escalation.status == Escalation.Status.RESOLVED:
            raise ValidationError("This escalation is resolved: record the call on a new one.")
        contact = ContactAttempt.objects.create(escalation=escalation, outcome=outcome, note=note,
                                                by=actor, at=now, next_attempt_at=next_attempt_at)
        if escalation.status == Escalation.Status.OPEN:
            escalation.status = Escalation.Status.ACKNOWLEDGED
            escalation.acknowledged_by = actor
            escalation.acknowledged_at = now
            # Someone is on it: the urgent alert stops chasing.
            escalation.next_action_at = None
        if escalation.assigned_to_id is None:
            escalation.assigned_to = actor
        escalation.next_attempt_at = next_attempt_at
        escalation.attempt_reminded_at = None
        escalation.save(update_fields=["status", "acknowledged_by", "acknowledged_at",
                                       "next_action_at", "assigned_to", "next_attempt_at",
                                       "attempt_reminded_at"])
        audit_record(actor=actor, action=AuditEvent.Action.CONTACT, patient=escalation.patient,
                     target=f"{escalation}: {outcome}")
    return contact


def staff_of_clinic(clinic_id: int):
    """The users an escalation of this clinic may be assigned to."""
    return (get_user_model().objects.filter(is_active=True, clinic_memberships__clinic_id=clinic_id)
            .order_by("first_name", "last_name", "username"))


@transaction.atomic
def escalation_assign(*, escalation: Escalation, actor, user) -> Escalation:
    """Assign the escalation to a staff member of its clinic (``user=None`` unassigns)."""
    escalation = _locked(escalation)
    if user is not None and not staff_of_clinic(escalation.patient.clinic_id).filter(
            pk=user.pk).exists():
        raise ValidationError({"user": "Assign to an active staff member of this clinic."})
    if escalation.status == Escalation.Status.RESOLVED:
        raise ValidationError("This escalation is resolved.")
    escalation.assigned_to = user
    escalation.save(update_fields=["assigned_to"])
    audit_record(actor=actor, action=AuditEvent.Action.ASSIGN, patient=escalation.patient,
                 target=f"{escalation} to {user.username if user else 'nobody'}")
    return escalation


# Reminders ----------------------------------------------------------------------------


def _reminder_email(escalation: Escalation, *, to: str) -> EmailMessage:
    clinic = escalation.patient.clinic
    url = settings.SITE_URL + reverse("admin:followups_escalation_change", args=[escalation.pk])
    # No name, no symptom: the link opens the page behind the sign-in.
    return EmailMessage(
        subject=f"A call-back you planned at {clinic.name} is due",
        body=(f"A call-back you planned for a patient of {clinic.name} is due now.\n\n"
              f"Open it in the aftercare desk (sign-in required):\n{url}\n\n"
              "Record the call there, whatever came of it.\n"),
        from_email=formataddr(("Aftercare desk", settings.DEFAULT_FROM_EMAIL)),
        to=[to],
        headers={"Message-ID": f"<escalation-{escalation.pk}-callback-"
                               f"{escalation.next_attempt_at:%Y%m%d%H%M}@{site_domain()}>",
                 "Auto-Submitted": "auto-generated"},
    )


def contact_reminders_process(*, now: datetime | None = None, limit: int = 100) -> int:
    """Remind each assignee once that a promised call-back is due; returns how many were sent.

    A conditional update claims each reminder (another sweep got there first
    when no row changes); the email goes after the claim, outside any
    transaction. A reminder that cannot be sent is logged: the escalation is
    back on top of the queue whatever the mail did.
    """
    now = now or clock.database_now()
    due = list(
        Escalation.objects.filter(next_attempt_at__lte=now, attempt_reminded_at__isnull=True)
        .exclude(status=Escalation.Status.RESOLVED)
        .select_related("patient__clinic", "assigned_to")
        .order_by("next_attempt_at")[:limit]
    )
    sent = 0
    for escalation in due:
        claimed = Escalation.objects.filter(
            pk=escalation.pk, next_attempt_at=escalation.next_attempt_at,
            attempt_reminded_at__isnull=True,
        ).update(attempt_reminded_at=now)
        if not claimed:
            continue
        assignee = escalation.assigned_to
        to = (assignee.email if assignee is not None and assignee.email
              else escalation.patient.clinic.email)
        if not to:
            logger.warning("escalation #%s: call-back due, nobody to remind by email",
                           escalation.pk)
            continue
        with registry.get(EmailChannel.name).session() as session:
            result = session.send(_reminder_email(escalation, to=to))
        if result.failure is not None:
            logger.warning("escalation #%s: call-back reminder not sent (%s)", escalation.pk,
                           result.failure.value)
            continue
        sent += 1
    return sent
