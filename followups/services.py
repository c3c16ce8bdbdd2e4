"""Check-ins: scheduling, sending what a sweep claimed, and the patient's answers.

Every change of state of a check-in goes through a function here; the API,
the patient's form, the admin, the management command and the sweep all call
these. The sweep (``followups.delivery.sweep``) claims the due rows and hands each
claimed batch to ``checkins_process_claimed``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from contextlib import contextmanager
from datetime import datetime
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from followups.assessment.schedule import checkin_due_at
from followups.audit import audit_record
from followups.delivery import clock, emails, enqueue
from followups.delivery.claims import LeaseKeeper, SweepReport, claim_finish, claim_record_failure
from followups.delivery.mailing import (
    Delivery,
    MailSession,
    Outcome,
    UndeliverableAddress,
    address_check,
)
from followups.escalations.services import (
    escalation_raise_for_assessment,
    escalation_raise_for_no_response,
    escalation_raise_for_undelivered,
    response_assess,
)
from followups.link.tokens import token_new
from followups.models import AuditEvent, CheckIn, CheckInLink, CheckInResponse
from patients.models import TreatmentSession

logger = logging.getLogger(__name__)


class CheckInClosed(Exception):
    """The check-in cannot take answers any more (already answered, cancelled…)."""


# Scheduling ---------------------------------------------------------------------


def checkins_schedule_for_session(*, session: TreatmentSession, days=None,
                                  not_before: datetime | None = None) -> list[CheckIn]:
    """Create the session's check-ins; called inside the caller's transaction.

    The day-2 and day-7 ones by default (with the session); ``days`` for the
    watch check-in. Each is due at the clinic's send hour on that local
    calendar day; ``not_before``: one whose time has already passed is due then.
    """
    clinic = session.patient.clinic
    checkins = []
    for day in days or settings.CHECKIN_DAYS:
        due_at = checkin_due_at(performed_at=session.performed_at, timezone=clinic.timezone,
                                send_hour=clinic.send_hour, day=day)
        if not_before is not None:
            due_at = max(due_at, not_before)
        checkins.append(CheckIn(session=session, day=day, due_at=due_at, next_action_at=due_at))
    return CheckIn.objects.bulk_create(checkins)


def _watch_checkin_due(*, checkin: CheckIn, assessment) -> bool:
    """A watch finding at the day-7 check-in: one more check-in (docs/escalation-rules.md).

    Whatever else matched beside it: a review or urgent flag is raised as
    usual, and the extra check-in still follows the finding that may be normal.
    """
    return (checkin.day == max(settings.CHECKIN_DAYS) and bool(assessment.watch_codes)
            and checkin.session.cancelled_at is None)


def checkins_reschedule_for_session(*, session: TreatmentSession) -> int:
    """Move the not-yet-sent check-ins with the session's new time."""
    clinic = session.patient.clinic
    moved = 0
    for checkin in session.checkins.select_for_update().filter(status=CheckIn.Status.SCHEDULED):
        due_at = checkin_due_at(performed_at=session.performed_at, timezone=clinic.timezone,
                                send_hour=clinic.send_hour, day=checkin.day)
        moved += CheckIn.objects.filter(pk=checkin.pk, status=CheckIn.Status.SCHEDULED).update(
            due_at=due_at, next_action_at=due_at, attempts=0, claim_token=None
        )
    return moved


def checkins_cancel_for_session(*, session: TreatmentSession) -> int:
    cancelled = CheckIn.objects.filter(session=session, status__in=CheckIn.OPEN_STATUSES).update(
        status=CheckIn.Status.CANCELLED, next_action_at=None, claim_token=None
    )
    CheckInLink.objects.filter(checkin__session=session, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return cancelled


@transaction.atomic
def checkin_resend(*, checkin: CheckIn, actor) -> CheckIn:
    """Send the check-in email again with a new link; every older link dies."""
    checkin = CheckIn.objects.select_for_update().select_related("session__patient").get(
        pk=checkin.pk
    )
    if checkin.status in (CheckIn.Status.COMPLETED, CheckIn.Status.CANCELLED):
        status = checkin.get_status_display().lower()
        raise ValidationError(f"A {status} check-in cannot be resent.")
    now = timezone.now()
    CheckInLink.objects.filter(checkin=checkin, revoked_at__isnull=True).update(revoked_at=now)
    checkin.status = CheckIn.Status.SCHEDULED
    checkin.send_generation = F("send_generation") + 1
    checkin.sent_at = checkin.reminder_sent_at = checkin.expires_at = None
    # Due again now: the new link's lifetime, the email's "works until" and the
    # lateness cut-off all count from this resend, not from the first due time.
    checkin.due_at = checkin.next_action_at = now
    checkin.attempts = 0
    checkin.claim_token = None
    checkin.last_error = ""
    checkin.save()
    checkin.refresh_from_db()
    audit_record(actor=actor, action=AuditEvent.Action.RESEND, patient=checkin.session.patient,
                 target=str(checkin))
    transaction.on_commit(enqueue.sweep_enqueue)
    return checkin


# Sending what the sweep claimed --------------------------------------------------------


def checkins_process_claimed(*, checkins: list[CheckIn], token: uuid.UUID, now: datetime,
                             report: SweepReport) -> None:
    """Do what each claimed check-in is due for: its invitation, a reminder, expiry…

    ``checkins`` were read by the claim itself (with session, patient and
    clinic); every write is conditional on still holding ``token``. Each
    check-in succeeds or fails on its own: one that cannot be built or sent
    is recorded as its own failed attempt and the batch goes on. The claim
    is renewed while sending, so a slow server never lets it lapse.
    """
    keeper = LeaseKeeper(model=CheckIn, token=token)
    pending = {checkin.pk for checkin in checkins}
    invitations = []
    with MailSession() as mailer:
        for checkin in checkins:
            if _invitation_due(checkin, now=now):
                invitations.append(checkin)
                continue
            if not _still_held(checkin, keeper=keeper, pending=pending, report=report):
                continue
            with _on_its_own(checkin, report=report):
                checkin_process_claimed(checkin, token=token, now=now, report=report,
                                        mailer=mailer)
            pending.discard(checkin.pk)
        if invitations:
            _send_invitations(invitations, token=token, now=now, mailer=mailer, report=report,
                              keeper=keeper, pending=pending)


def _still_held(checkin: CheckIn, *, keeper: LeaseKeeper, pending: set[int],
                report: SweepReport) -> bool:
    """Renew the claim when it is half over; False for a row another sweep took over.

    ``pending`` holds every claimed row not yet finished, sent-but-not-yet-marked
    invitations included: all of them are renewed.
    """
    if keeper.due():
        pending &= keeper.renew(ids=sorted(pending), now=clock.database_now())
    if checkin.pk not in pending:
        report.lost_claims += 1
        return False
    return True


@contextmanager
def _on_its_own(checkin: CheckIn, *, report: SweepReport):
    """A bug or a database error for one row: logged, and the batch goes on.

    (The mail server's answers are handled where they come.) Its lease runs
    out and the row is tried again.
    """
    try:
        yield
    except Exception as error:
        logger.exception("check-in #%s could not be processed", checkin.pk)
        report.errors.append(type(error).__name__)


def checkin_process_claimed(checkin: CheckIn, *, token: uuid.UUID, now: datetime,
                            report: SweepReport, mailer: MailSession) -> None:
    """One claimed check-in that is not an invitation due: cut-off, reminder, expiry."""
    finish = partial(claim_finish, instance=checkin, token=token)
    if checkin.session.cancelled_at is not None:
        finish(status=CheckIn.Status.CANCELLED, next_action_at=None)
        report.cancelled += 1
        return
    too_late = now - checkin.due_at > settings.CHECKIN_LINK_TTL
    if checkin.status == CheckIn.Status.SCHEDULED and too_late:
        # Lateness cut-off: a "day-2" email arriving days late (a session
        # recorded long after it happened, or an outage) would only confuse.
        finish(status=CheckIn.Status.MISSED, next_action_at=None,
               last_error="not sent: more than the link lifetime past its due time")
        report.missed += 1
        return
    if checkin.status == CheckIn.Status.SCHEDULED:
        # Not an invitation due (see _invitation_due): its attempts are spent.
        finish(status=CheckIn.Status.FAILED, next_action_at=None)
        report.failed += 1
        return
    # Sent and waiting for the patient: a reminder, a non-response flag, expiry.
    sent_at, expires_at = _sent_window(checkin)
    reminder_due = sent_at + settings.CHECKIN_REMINDER_AFTER
    no_response_due = sent_at + settings.CHECKIN_NO_RESPONSE_AFTER
    if checkin.reminder_sent_at is None and now < expires_at and now >= reminder_due:
        _send_reminder(checkin, token=token, now=now, report=report, mailer=mailer)
        return
    if checkin.reminder_sent_at is not None and now >= no_response_due:
        if escalation_raise_for_no_response(checkin=checkin, now=now):
            report.no_response_flags += 1
    if now >= expires_at:
        CheckInLink.objects.filter(checkin=checkin, revoked_at__isnull=True).update(revoked_at=now)
        if finish(status=CheckIn.Status.MISSED, next_action_at=None, attempts=0):
            report.missed += 1
        return
    finish(attempts=0, next_action_at=_next_waiting_action(checkin, now))


def _sent_window(checkin: CheckIn) -> tuple[datetime, datetime]:
    """A sent check-in's ``sent_at`` and ``expires_at``.

    Marking a check-in sent sets both (``_send_invitations``); one without
    them is a broken row, named as such rather than failing on the arithmetic.
    """
    if checkin.sent_at is None or checkin.expires_at is None:
        raise ValueError(f"check-in #{checkin.pk} is {checkin.status!r} but has no "
                         "sent_at or expires_at: it was never marked sent")
    return checkin.sent_at, checkin.expires_at


def _invitation_due(checkin: CheckIn, *, now: datetime) -> bool:
    return (checkin.status == CheckIn.Status.SCHEDULED
            and checkin.session.cancelled_at is None
            and now - checkin.due_at <= settings.CHECKIN_LINK_TTL
            and checkin.attempts < settings.DELIVERY_MAX_ATTEMPTS)


def _message_build(checkin: CheckIn, *, reminder: bool):
    """The email with a fresh link: (message, the link's token hash)."""
    address_check(checkin.session.patient.email)
    raw_token, hashed = token_new()
    return emails.checkin_email(checkin, token=raw_token, reminder=reminder), hashed


# How many sent invitations are marked sent together. A sender that dies
# before marking them leaves them to be sent again after the lease, with the
# same Message-ID: at most one duplicate each, and never more than this many.
INVITATIONS_FINISHED_TOGETHER = 50


def _send_invitations(checkins: list[CheckIn], *, token: uuid.UUID, now: datetime,
                      mailer: MailSession, report: SweepReport, keeper: LeaseKeeper,
                      pending: set[int]) -> None:
    """Day-N invitations of a claimed batch, each built and sent on its own.

    The links are written in one INSERT before any email leaves (a patient
    who clicks at once must find theirs; a retried send adds a second link,
    both valid until the check-in is answered or expires), and the sent ones
    are marked in groups.
    """
    built = []
    for checkin in checkins:
        try:
            message, hashed = _message_build(checkin, reminder=False)
        except Exception as error:
            pending.discard(checkin.pk)
            with _on_its_own(checkin, report=report):
                _record_send_failure(checkin, token, now=now, report=report,
                                     delivery=_build_failure(error))
            continue
        built.append((checkin, message, hashed))
    CheckInLink.objects.bulk_create([
        CheckInLink(checkin=checkin, token_hash=hashed,
                    expires_at=now + settings.CHECKIN_LINK_TTL)
        for checkin, _message, hashed in built
    ])
    sent: list[tuple[int, str]] = []

    def mark_sent() -> None:
        changes = {"status": CheckIn.Status.SENT, "sent_at": now, "attempts": 0,
                   "last_error": "", "expires_at": now + settings.CHECKIN_LINK_TTL,
                   "next_action_at": now + settings.CHECKIN_REMINDER_AFTER, "claim_token": None}
        plain = [pk for pk, provider_id in sent if not provider_id]
        done = CheckIn.objects.filter(id__in=plain, claim_token=token).update(**changes)
        for pk, provider_id in sent:
            if provider_id:  # an email provider's id, one per message
                done += CheckIn.objects.filter(pk=pk, claim_token=token).update(
                    provider_message_id=provider_id, **changes)
        report.invitations_sent += done
        pending.difference_update(pk for pk, _provider_id in sent)
        if done < len(sent):
            report.lost_claims += len(sent) - done
            logger.warning("%s check-in(s): claim lost while sending; the sender that holds "
                           "them will finish", len(sent) - done)
        sent.clear()

    try:
        for checkin, message, _hashed in built:
            if not _still_held(checkin, keeper=keeper, pending=pending, report=report):
                continue
            with _on_its_own(checkin, report=report):
                delivery = mailer.send(message)
                if not delivery.sent:
                    pending.discard(checkin.pk)
                    _record_send_failure(checkin, token, now=now, report=report,
                                         delivery=delivery)
                    continue
                sent.append((checkin.pk, delivery.provider_message_id))
                if len(sent) >= INVITATIONS_FINISHED_TOGETHER:
                    mark_sent()
    finally:
        if sent:
            mark_sent()


def _build_failure(error: Exception) -> Delivery:
    """A message that could not be built: its own failed attempt, never the batch's."""
    kind = type(error).__name__
    if isinstance(error, UndeliverableAddress):
        return Delivery(Outcome.PERMANENT, reason=str(error), error_type=kind)
    logger.warning("a check-in email could not be built: %s", kind)
    return Delivery(Outcome.TEMPORARY, reason=f"not built: {kind}: {error}"[:250],
                    error_type=kind)


def _record_send_failure(checkin: CheckIn, token: uuid.UUID, *, now: datetime,
                         report: SweepReport, delivery: Delivery) -> None:
    report.errors.append(delivery.error_type or delivery.outcome.value)
    permanent = delivery.outcome is Outcome.PERMANENT
    gave_up = claim_record_failure(instance=checkin, token=token, now=now,
                                   reason=delivery.reason, failed_status=CheckIn.Status.FAILED,
                                   permanent=permanent)
    if gave_up:
        report.failed += 1
        escalation_raise_for_undelivered(checkin=checkin, reason=delivery.reason, now=now)


def _next_waiting_action(checkin: CheckIn, now: datetime) -> datetime:
    sent_at, expires_at = _sent_window(checkin)
    milestones = [expires_at]
    if checkin.reminder_sent_at is None:
        milestones.append(sent_at + settings.CHECKIN_REMINDER_AFTER)
    else:
        milestones.append(sent_at + settings.CHECKIN_NO_RESPONSE_AFTER)
    upcoming = [moment for moment in milestones if moment > now]
    return min(upcoming) if upcoming else now


def _send_reminder(checkin: CheckIn, *, token: uuid.UUID, now: datetime,
                   report: SweepReport, mailer: MailSession) -> None:
    finish = partial(claim_finish, instance=checkin, token=token)
    sent_at, expires_at = _sent_window(checkin)
    if checkin.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
        finish(status=CheckIn.Status.FAILED, next_action_at=None)
        report.failed += 1
        return
    try:
        message, hashed = _message_build(checkin, reminder=True)
        # The reminder carries a link of its own, valid to the same deadline.
        CheckInLink.objects.create(checkin=checkin, token_hash=hashed, expires_at=expires_at)
    except Exception as error:
        _record_send_failure(checkin, token, now=now, report=report,
                             delivery=_build_failure(error))
        return
    delivery = mailer.send(message)
    if not delivery.sent:
        _record_send_failure(checkin, token, now=now, report=report, delivery=delivery)
        return
    done = finish(reminder_sent_at=now, attempts=0, last_error="",
                  next_action_at=min(sent_at + settings.CHECKIN_NO_RESPONSE_AFTER, expires_at),
                  provider_message_id=delivery.provider_message_id or checkin.provider_message_id)
    report.reminders_sent += done
    if not done:
        report.lost_claims += 1
        logger.warning("check-in #%s: claim lost while sending; the sender that holds it "
                       "will finish", checkin.pk)


def checkin_delivery_failed(*, checkin: CheckIn, reason: str,
                            now: datetime | None = None) -> bool:
    """A sent email bounced (the provider said so later): the check-in is ``failed``.

    As a permanent refusal at send time is: the reason kept, and the patient
    put in front of staff to be phoned. Returns whether anything changed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        changed = CheckIn.objects.filter(pk=checkin.pk, status__in=CheckIn.OPEN_STATUSES).update(
            status=CheckIn.Status.FAILED, next_action_at=None, claim_token=None,
            last_error=reason[:300],
        )
        if changed:
            checkin.refresh_from_db()
            escalation_raise_for_undelivered(checkin=checkin, reason=reason, now=now)
    return bool(changed)


# Answers -------------------------------------------------------------------------


def response_record(*, checkin: CheckIn, answers: Mapping, channel: str, entered_by=None,
                    photo=None, now: datetime | None = None) -> CheckInResponse:
    """Store a check-in's answers once, assess them, and raise any escalation.

    In one transaction: the check-in is taken by one conditional UPDATE (of
    two racing submissions exactly one changes the row, the other waits for
    its lock, finds the check-in completed and gets CheckInClosed; the
    one-to-one constraint on the answers backs that up), then the answers,
    their escalation, the watch (day-10) check-in after a watch answer at day
    7 and, for answers staff took by phone, the audit entry.
    """
    now = now or timezone.now()
    allowed = (
        (CheckIn.Status.SCHEDULED, CheckIn.Status.SENT, CheckIn.Status.MISSED)
        if channel == CheckInResponse.Channel.STAFF
        else CheckIn.OPEN_STATUSES
    )
    response = CheckInResponse(
        checkin=checkin, channel=channel, entered_by=entered_by, submitted_at=now,
        **{key: answers[key] for key in (*CheckInResponse.SEVERITY_FIELDS,
                                         *CheckInResponse.YES_NO_FIELDS)},
        **{key: answers.get(key) or "" for key in CheckInResponse.TREND_FIELDS},
        comments=answers.get("comments") or "",
    )
    # Field by field, then the model's own rules (a trend for a present
    # symptom): a mistake is named. The table's constraints still hold every
    # row, without a query each to pre-check them.
    response.full_clean(exclude=["checkin", "entered_by", "photo"], validate_constraints=False)
    assessment = response_assess(response=response, now=now)
    response.assessment_level = assessment.level.label
    response.assessment_reasons = assessment.as_dict()["reasons"]
    # Every comment is read: a flagged one with its escalation, any other by a
    # person who marks it read (followups.escalations.comments).
    response.comment_waiting = bool(response.comments.strip()) and (
        "COMMENT_CONCERN" not in assessment.codes)
    try:
        with transaction.atomic():
            if photo is not None:
                response.photo.save("photo.jpg", photo, save=False)
            taken = CheckIn.objects.filter(pk=checkin.pk, status__in=allowed).update(
                status=CheckIn.Status.COMPLETED, completed_at=now, next_action_at=None,
                claim_token=None,
            )
            if not taken:
                raise CheckInClosed("check-in is no longer open")
            try:
                response.save(force_insert=True)
            except IntegrityError:
                # The other submission of a race committed first.
                raise CheckInClosed("check-in already answered") from None
            escalation_raise_for_assessment(response=response, assessment=assessment, now=now,
                                            answers_new=True)
            if _watch_checkin_due(checkin=checkin, assessment=assessment):
                checkins_schedule_for_session(session=checkin.session,
                                              days=(settings.CHECKIN_WATCH_DAY,),
                                              not_before=now)
            if channel == CheckInResponse.Channel.STAFF:
                audit_record(actor=entered_by, action=AuditEvent.Action.RECORD_ANSWERS,
                             patient=checkin.session.patient, target=str(checkin))
    except Exception:
        # The transaction rolled back; the file written above did not.
        if response.photo:
            response.photo.delete(save=False)
        raise
    checkin.status, checkin.completed_at = CheckIn.Status.COMPLETED, now
    checkin.next_action_at = checkin.claim_token = None
    return response
