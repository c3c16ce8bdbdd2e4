"""Escalations: raising them from answers or silence, alerting, handling.

The clinical decisions live in ``followups.assessment.rules`` (pure); this module stores
their result, makes sure an urgent one reaches a person, and records who
handled it. Cluster signals across patients are ``followups.escalations.clusters``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from followups.assessment import rules
from followups.assessment.rules import CLUSTER_CODES, Level
from followups.audit import audit_record
from followups.delivery import clock, enqueue
from followups.delivery.channels import registry
from followups.delivery.channels.base import Failure, SendResult
from followups.delivery.channels.email import EmailChannel
from followups.delivery.channels.email.messages import escalation_alert_email
from followups.delivery.claims import (
    SweepReport,
    claim_due_rows,
    claim_finish,
    claim_record_failure,
)
from followups.escalations import on_call
from followups.models import AuditEvent, CheckIn, CheckInResponse, Escalation
from followups.selectors import checkin_earlier_responses, session_ingredients
from followups.webhooks import events as webhooks

logger = logging.getLogger(__name__)

ANSWER_FIELDS = (*CheckInResponse.SEVERITY_FIELDS, *CheckInResponse.TREND_FIELDS,
                 *CheckInResponse.YES_NO_FIELDS)


def response_answers(*, response: CheckInResponse) -> rules.Answers:
    """The stored answers as the rules read them."""
    return rules.Answers.from_mapping({name: getattr(response, name) for name in ANSWER_FIELDS})


def response_assess(*, response: CheckInResponse, now: datetime) -> rules.Assessment:
    checkin = response.checkin
    session = checkin.session
    allergies = session.patient.known_allergies or []
    answers = response_answers(response=response)
    # Read only what the rules will look at: the earlier answers when these
    # are compared with them (none come before the first check-in), the
    # products when the patient has known allergies.
    previous = [
        response_answers(response=earlier)
        for earlier in checkin_earlier_responses(checkin=checkin)
    ] if checkin.day > min(settings.CHECKIN_DAYS) and rules.previous_needed(answers) else []
    ingredients = session_ingredients(session=session) if allergies else []
    return rules.assess_answers(
        answers=answers, day=checkin.day, previous=previous,
        known_allergies=allergies, product_ingredients=ingredients,
        comment=response.comments, language=getattr(session.patient, "language", "en") or "en",
        acne_prone=session.patient.acne_prone,
    )


def escalation_raise_for_assessment(*, response: CheckInResponse, assessment: rules.Assessment,
                                    now: datetime, answers_new: bool = False) -> Escalation | None:
    """Flag the patient for answers assessed outside the normal range.

    ``answers_new``: the answers were stored by the caller's open transaction,
    so no escalation for them can exist yet and none is looked for.
    """
    if not assessment.flagged:
        return None
    return _escalation_create(checkin=response.checkin, response=response,
                              trigger=Escalation.Trigger.RESPONSE, assessment=assessment, now=now,
                              may_exist=not answers_new)


def escalation_raise_for_no_response(*, checkin: CheckIn, now: datetime) -> Escalation | None:
    if checkin.sent_at is None:
        raise ValueError(f"check-in #{checkin.pk} was never sent: it cannot be unanswered")
    assessment = rules.assess_non_response(
        day=checkin.day, sent_at=checkin.sent_at, reminder_sent_at=checkin.reminder_sent_at,
        now=now, window=settings.CHECKIN_NO_RESPONSE_AFTER,
    )
    if not assessment.flagged:
        return None
    with transaction.atomic():
        return _escalation_create(checkin=checkin, response=None,
                                  trigger=Escalation.Trigger.NO_RESPONSE,
                                  assessment=assessment, now=now)


def escalation_raise_for_not_sent(*, checkin: CheckIn, now: datetime) -> Escalation | None:
    """No check-in of the session could be sent in time: someone must phone the patient.

    clinical-reference.md, "Nothing lapses". Raised in the caller's
    transaction, with the check-in marked missed; never twice for one check-in.
    """
    if checkin.sent_at is not None:
        raise ValueError(f"check-in #{checkin.pk} was sent: it is not a check-in never sent")
    assessment = rules.assess_not_sent(day=checkin.day, due_at=checkin.due_at, now=now)
    return _escalation_create(checkin=checkin, response=None,
                              trigger=Escalation.Trigger.NO_RESPONSE,
                              assessment=assessment, now=now)


def escalation_raise_for_undelivered(*, checkin: CheckIn, reason: str,
                                     now: datetime) -> Escalation | None:
    """The check-in email could not be delivered: someone must phone the patient."""
    assessment = rules.assess_undelivered(day=checkin.day, why=reason[:160] or "no reason given")
    with transaction.atomic():
        return _escalation_create(checkin=checkin, response=None,
                                  trigger=Escalation.Trigger.UNDELIVERED,
                                  assessment=assessment, now=now)


def _escalation_create(*, checkin: CheckIn, response, trigger: str,
                       assessment: rules.Assessment, now: datetime,
                       may_exist: bool = True) -> Escalation | None:
    session = checkin.session
    urgent = assessment.level == Level.URGENT
    escalation = Escalation(
        patient=session.patient, clinic_id=session.patient.clinic_id, session=session,
        checkin=checkin, response=response,
        trigger=trigger, level=assessment.level.label, reasons=assessment.as_dict()["reasons"],
        # An urgent alert is due at once by the database's clock too, whatever the
        # clock of the process that raised it says (the sweep reads the database's).
        created_at=now, next_action_at=min(now, clock.database_now()) if urgent else None,
        # Only a cluster reason leaves the escalation for the sweep to look at.
        clusters_checked_at=(None if {reason.code for reason in assessment.reasons}
                             & CLUSTER_CODES else now),
    )
    if may_exist:
        try:
            with transaction.atomic():
                escalation.save(force_insert=True)
        except IntegrityError:
            # Already raised for this check-in and trigger: never a second one.
            return None
    else:
        escalation.save(force_insert=True)
    webhooks.escalation_raised(escalation)
    if urgent:
        # The sweep sends the alert and looks for a cluster: now, not in a minute.
        transaction.on_commit(enqueue.sweep_enqueue)
    return escalation


# Handling -------------------------------------------------------------------------


@transaction.atomic
def escalation_acknowledge(*, escalation: Escalation, actor) -> Escalation:
    escalation = Escalation.objects.select_for_update().select_related("patient__clinic").get(
        pk=escalation.pk
    )
    if escalation.status != Escalation.Status.OPEN:
        raise ValidationError(f"This escalation is already {escalation.status}.")
    escalation.status = Escalation.Status.ACKNOWLEDGED
    escalation.acknowledged_by = actor
    escalation.acknowledged_at = timezone.now()
    # Acknowledged: nobody needs to be chased any more.
    escalation.next_action_at = None
    escalation.save()
    audit_record(actor=actor, action=AuditEvent.Action.ACKNOWLEDGE, patient=escalation.patient,
                 target=str(escalation))
    webhooks.escalation_acknowledged(escalation)
    return escalation


@transaction.atomic
def escalation_resolve(*, escalation: Escalation, actor, note: str) -> Escalation:
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say what was done: a resolution note is required."})
    try:
        # The model's own limit on the note (its validators), before any row is locked.
        Escalation._meta.get_field("resolution_note").run_validators(note)
    except ValidationError as error:
        raise ValidationError({"note": error.messages}) from None
    escalation = Escalation.objects.select_for_update().select_related("patient__clinic").get(
        pk=escalation.pk
    )
    if escalation.status == Escalation.Status.RESOLVED:
        raise ValidationError("This escalation is already resolved.")
    now = timezone.now()
    if escalation.acknowledged_at is None:
        escalation.acknowledged_by = actor
        escalation.acknowledged_at = now
    escalation.status = Escalation.Status.RESOLVED
    escalation.resolved_by = actor
    escalation.resolved_at = now
    escalation.resolution_note = note
    escalation.next_action_at = None
    escalation.save()
    audit_record(actor=actor, action=AuditEvent.Action.RESOLVE, patient=escalation.patient,
                 target=str(escalation))
    webhooks.escalation_resolved(escalation)
    return escalation


# Alerts ---------------------------------------------------------------------------


def _staff_emails(clinic) -> list[str]:
    User = get_user_model()
    return sorted(
        set(
            User.objects.filter(clinic_memberships__clinic=clinic, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )


def escalation_alerts_process(*, now: datetime | None, limit: int,
                              report: SweepReport) -> None:
    """Send the urgent alert at once, and again to every staff member at the deadline."""
    while True:
        # The database's clock, as the check-ins' sweep: a worker whose own clock is
        # hours off neither holds an urgent alert back nor sends it early.
        current = now or clock.database_now()
        token, claimed = claim_due_rows(
            queryset=Escalation.objects.filter(level=Level.URGENT.label)
            .select_related("patient__clinic"),
            now=current, limit=limit,
        )
        for escalation in claimed:
            _alert_process_claimed(escalation, token=token, now=current, report=report)
        if len(claimed) < limit:
            return


# Kept on an urgent escalation whose clinic alert address refused its alert for
# good: from then on its alert goes to every staff member (and the on-call text).
ALERT_ADDRESS_REFUSED = "alert address refused: "


def _alert_address_refused(escalation: Escalation) -> bool:
    return escalation.last_error.startswith(ALERT_ADDRESS_REFUSED)


def _alert_process_claimed(escalation: Escalation, *, token, now: datetime,
                           report: SweepReport) -> None:
    def finish(**changes) -> bool:
        return claim_finish(instance=escalation, token=token, **changes)

    if escalation.status != Escalation.Status.OPEN:
        finish(next_action_at=None)
        return
    clinic = escalation.patient.clinic
    deadline = escalation.created_at + settings.URGENT_ACK_DEADLINE
    refused = _alert_address_refused(escalation)
    if on_call.on_call_due(escalation, now=now):
        # The second channel (followups.escalations.on_call), before the deadline's email.
        report.on_call_texts_sent += on_call.on_call_text_send(escalation, now=now).sent
    if escalation.alert_sent_at is None and not refused:
        recipients, renotify = ([clinic.email] if clinic.email else _staff_emails(clinic)), False
    elif escalation.renotified_at is None and (refused or now >= deadline):
        # At the deadline; or at once when the clinic's address refused the alert.
        recipients, renotify = _staff_emails(clinic), True
    else:
        finish(next_action_at=on_call.on_call_next_action(
            escalation, then=deadline if escalation.renotified_at is None else None))
        return
    if escalation.attempts >= settings.DELIVERY_MAX_ATTEMPTS or not recipients:
        finish(next_action_at=None,
               last_error="no recipients" if not recipients else "too many attempts")
        logger.error("urgent escalation #%s: alert could not be delivered", escalation.pk)
        return
    try:
        message = escalation_alert_email(escalation, recipients=recipients, renotify=renotify)
    except Exception as error:
        logger.exception("urgent escalation #%s: the alert could not be built", escalation.pk)
        result = SendResult(Failure.TEMPORARY, reason=f"not built: {type(error).__name__}",
                            error_type=type(error).__name__)
    else:
        # The alert is an email to the clinic's addresses, through the email
        # channel's session (its failures told apart as a check-in email's are).
        with registry.get(EmailChannel.name).session() as session:
            result = session.send(message)
    if result.failure is not None:
        report.errors.append(result.error_type or result.failure.value)
        if result.permanent and not renotify and clinic.email:
            # The clinic's alert address refused it for good: nobody would read
            # it there. Every staff member now, by email, and the on-call text;
            # the dashboard counts it, in red, as an alert not delivered.
            logger.error("urgent escalation #%s: the clinic's alert address refused the "
                         "alert; every staff member is alerted instead", escalation.pk)
            escalation.last_error = (ALERT_ADDRESS_REFUSED + result.reason)[:300]
            escalation.attempts = 0
            finish(claim_token=token, last_error=escalation.last_error, attempts=0)
            if on_call.on_call_due_at(escalation) is not None:
                report.on_call_texts_sent += on_call.on_call_text_send(escalation, now=now).sent
            _alert_process_claimed(escalation, token=token, now=now, report=report)
            return
        # An alert given up on stays on the dashboard ("urgent alerts not
        # delivered"): the escalation is in the queue whatever the mail did.
        if result.permanent and on_call.on_call_due_at(escalation) is not None:
            # Every staff address refused it for good: the on-call phone now.
            report.on_call_texts_sent += on_call.on_call_text_send(escalation, now=now).sent
        reason = (ALERT_ADDRESS_REFUSED if refused else "") + result.reason
        claim_record_failure(instance=escalation, token=token, now=now, reason=reason,
                             failed_status=None, permanent=result.permanent)
        return
    if renotify:
        # A refused alert address stays written: the dashboard shows the alert
        # as not delivered to the clinic until someone fixes the address.
        report.renotifications_sent += finish(
            renotified_at=now, attempts=0, next_action_at=None,
            last_error=escalation.last_error if refused else "")
    else:
        report.alerts_sent += finish(alert_sent_at=now, attempts=0, last_error="",
                                     next_action_at=max(on_call.on_call_next_action(
                                         escalation, then=deadline) or deadline, now))
