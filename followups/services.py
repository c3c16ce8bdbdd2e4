"""Check-ins: scheduling, sending what a sweep claimed, and the patient's answers.

Every change of state of a check-in goes through a function here; the API,
the patient's form, the admin, the management command and the sweep all call
these. The sweep (``followups.delivery.sweep``) claims the due rows and hands each
claimed batch to ``checkins_process_claimed``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Greatest, Least, Now
from django.utils import timezone

from followups.assessment.schedule import (
    LateFate,
    checkin_due_at,
    checkin_is_late,
    late_checkin_fate,
)
from followups.audit import audit_record
from followups.consent.services import call_instead_record
from followups.delivery import clock, enqueue, stopping
from followups.delivery.channels import NoChannelLeft, checkin_channels
from followups.delivery.channels.base import (
    Channel,
    Failure,
    ProviderEvent,
    SendResult,
    Sessions,
    Undeliverable,
)
from followups.delivery.claims import LeaseKeeper, SweepReport, claim_finish, claim_record_failure
from followups.escalations.services import (
    escalation_raise_for_assessment,
    escalation_raise_for_no_response,
    escalation_raise_for_not_sent,
    escalation_raise_for_undelivered,
    response_assess,
)
from followups.link.tokens import token_new
from followups.models import AuditEvent, CheckIn, CheckInLink, CheckInResponse, Delivery
from followups.webhooks import events as webhooks
from patients.models import TreatmentSession

logger = logging.getLogger(__name__)


class CheckInClosed(Exception):
    """The check-in cannot take answers any more (already answered, cancelled…)."""


class CheckInNotOpen(ValidationError):
    """Answers for a check-in whose due time has not come: refused, naming when it opens.

    clinical-reference.md, "A check-in is answered for its day": the rules of
    day 7 say nothing about day 3. A 400 naming ``checkin`` in the API.
    """

    def __init__(self, checkin: CheckIn) -> None:
        self.opens_at = checkin.due_at
        local = checkin.due_at.astimezone(ZoneInfo(checkin.session.patient.clinic.timezone))
        super().__init__({"checkin": [
            f"This day-{checkin.day} check-in opens at {checkin.due_at.isoformat()} "
            f"({local:%A} {local.day} {local:%B %Y, %H:%M} clinic time): its answers are "
            "taken from then, not before."
        ]})


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
        checkins.append(CheckIn(session=session, clinic_id=clinic.pk, day=day, due_at=due_at,
                                next_action_at=due_at))
    return CheckIn.objects.bulk_create(checkins)


def _watch_checkin_due(*, checkin: CheckIn, assessment) -> bool:
    """A watch finding at the day-7 check-in: one more check-in (docs/escalation-rules.md).

    Whatever else matched beside it: a review or urgent flag is raised as
    usual, and the extra check-in still follows the finding that may be normal.
    """
    return (checkin.day == max(settings.CHECKIN_DAYS) and bool(assessment.watch_codes)
            and checkin.session.cancelled_at is None)


def checkins_reschedule_for_session(*, session: TreatmentSession) -> int:
    """Move the not-yet-sent check-ins with the session's new time (or its clinic's).

    A row a sender holds (its claim's lease still running, by the database's
    clock) keeps its claim, attempts and next action: only its new due time
    is written. The sender either sends it (the message is on its way; the
    due time then opens no later than the send) or gives it back due no
    earlier than the new time. A claim whose lease ran out belongs to a
    sender that died: that row is moved like any other.
    """
    clinic = session.patient.clinic
    now = clock.database_now()
    moved = 0
    for checkin in session.checkins.select_for_update().filter(status=CheckIn.Status.SCHEDULED):
        due_at = checkin_due_at(performed_at=session.performed_at, timezone=clinic.timezone,
                                send_hour=clinic.send_hour, day=checkin.day)
        held = (checkin.claim_token is not None and checkin.next_action_at is not None
                and checkin.next_action_at > now)
        if held:
            moved += CheckIn.objects.filter(
                pk=checkin.pk, status=CheckIn.Status.SCHEDULED, claim_token=checkin.claim_token,
            ).update(due_at=due_at)
            continue
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

# A check-in's messages, one per channel it goes out through, and what became of each.
Messages = list[tuple[Channel[Any], Any]]
Results = list[tuple[Channel[Any], SendResult]]


class SenderStops(Exception):
    """The sender stops before its next message: its process was asked to stop."""


# What a sender cannot go on without: the database that records each send.
DATABASE_GONE = (OperationalError, InterfaceError)


def checkins_process_claimed(*, checkins: list[CheckIn], token: uuid.UUID, now: datetime,
                             report: SweepReport) -> None:
    """Do what each claimed check-in is due for: its invitation, a reminder, expiry…

    ``checkins`` were read by the claim itself (with session, patient and
    clinic); every write is conditional on still holding ``token``. Each
    check-in succeeds or fails on its own: one that cannot be built or sent
    is recorded as its own failed attempt and the batch goes on. Each message
    that leaves is recorded sent, with its provider's id, in its own commit
    before the next one goes; before each message the sender checks that the
    database answers and the claim is still its own (``_gate``). The claim
    is renewed while sending, so a slow server never lets it lapse. Each
    channel's session is opened when its first message goes, once a batch.

    The database gone mid-batch: the sender stops (the error goes up; what
    it still holds falls due when the lease ends). Its process asked to stop
    (``followups.delivery.stopping``): it gives back what it still holds, due
    at once, and stops.
    """
    keeper = LeaseKeeper(model=CheckIn, token=token)
    pending = {checkin.pk for checkin in checkins}
    invitations = []
    try:
        with stopping.sending(), Sessions() as sessions:
            for checkin in checkins:
                if _invitation_due(checkin, now=now):
                    invitations.append(checkin)
                    continue
                if not _still_held(checkin, keeper=keeper, pending=pending, report=report):
                    continue
                with _on_its_own(checkin, report=report):
                    checkin_process_claimed(checkin, token=token, now=now, report=report,
                                            sessions=sessions)
                pending.discard(checkin.pk)
            if invitations:
                _send_invitations(invitations, token=token, now=now, sessions=sessions,
                                  report=report, keeper=keeper, pending=pending)
    except SenderStops:
        report.released += checkins_release(ids=pending, token=token)


def checkins_release(*, ids: set[int], token: uuid.UUID) -> int:
    """Give back claimed rows not yet worked on: due at once (not after the lease).

    Due no earlier than the row's due time: a clinic edit may have moved
    it while it was held (``checkins_reschedule_for_session``).
    """
    if not ids:
        return 0
    released = CheckIn.objects.filter(id__in=sorted(ids), claim_token=token).update(
        claim_token=None, next_action_at=Greatest(F("due_at"), Now()))
    logger.warning("sender stopping: %s claimed check-in(s) given back, due at once", released)
    return released


def _gate(checkin: CheckIn, *, token: uuid.UUID) -> bool:
    """Before each message: may it go? False when another sender took the row over.

    Raises ``SenderStops`` when the process was asked to stop, and the
    database's own error when it does not answer: a message is never sent
    that could not be recorded.
    """
    if stopping.stop_requested():
        raise SenderStops
    return CheckIn.objects.filter(pk=checkin.pk, claim_token=token).exists()


def _still_held(checkin: CheckIn, *, keeper: LeaseKeeper, pending: set[int],
                report: SweepReport) -> bool:
    """Renew the claim when it is half over; False for a row another sweep took over.

    ``pending`` holds every claimed row not yet finished: all of them are
    renewed.
    """
    if keeper.due():
        pending &= keeper.renew(ids=sorted(pending), now=clock.database_now())
    if checkin.pk not in pending:
        report.lost_claims += 1
        return False
    return True


@contextmanager
def _on_its_own(checkin: CheckIn, *, report: SweepReport) -> Iterator[None]:
    """A bug or a failed write for one row: logged, and the batch goes on.

    (A provider's answers are handled where they come.) Its lease runs
    out and the row is tried again. The database gone is not one row's
    failure: the sender stops (``DATABASE_GONE``), as it does when asked to.
    """
    try:
        yield
    except (SenderStops, *DATABASE_GONE):
        raise
    except Exception as error:
        logger.exception("check-in #%s could not be processed", checkin.pk)
        report.errors.append(type(error).__name__)


def checkin_process_claimed(checkin: CheckIn, *, token: uuid.UUID, now: datetime,
                            report: SweepReport, sessions: Sessions) -> None:
    """One claimed check-in that is not an invitation due: cut-off, reminder, expiry."""
    finish = partial(claim_finish, instance=checkin, token=token)
    if checkin.session.cancelled_at is not None:
        finish(status=CheckIn.Status.CANCELLED, next_action_at=None)
        report.cancelled += 1
        return
    if checkin.status == CheckIn.Status.SCHEDULED and _late(checkin, now=now):
        fate = _late_fate(checkin, now=now)
        if fate is LateFate.REPLACED:
            if finish(status=CheckIn.Status.MISSED, next_action_at=None,
                      last_error="not sent: more than the link lifetime past its due time; "
                                 "a later check-in of the session replaces it"):
                report.missed += 1
            return
        if fate is LateFate.UNSENDABLE:
            # Nothing lapses in silence: the session has no check-in left to
            # ask with, so the patient is put in front of someone to call.
            with transaction.atomic():
                if finish(status=CheckIn.Status.MISSED, next_action_at=None,
                          last_error="not sent: more than the link lifetime past its due "
                                     "time, and no later check-in follows"):
                    report.missed += 1
                    if escalation_raise_for_not_sent(checkin=checkin, now=now):
                        report.no_response_flags += 1
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
        _send_reminder(checkin, token=token, now=now, report=report, sessions=sessions)
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
    """A scheduled check-in to send now: in time, or late with no later one replacing it."""
    return (checkin.status == CheckIn.Status.SCHEDULED
            and checkin.session.cancelled_at is None
            and checkin.attempts < settings.DELIVERY_MAX_ATTEMPTS
            and (not _late(checkin, now=now)
                 or _late_fate(checkin, now=now) is LateFate.SEND_LATE))


def _late(checkin: CheckIn, *, now: datetime) -> bool:
    return checkin_is_late(due_at=checkin.due_at, now=now,
                           link_lifetime=settings.CHECKIN_LINK_TTL)


def _late_fate(checkin: CheckIn, *, now: datetime) -> LateFate:
    """What becomes of a check-in unsent past its link lifetime (clinical-reference.md,
    "Nothing lapses"): sent late, replaced by a later one of its session, or unsendable.

    One query, only for a late check-in: the session's later check-ins.
    """
    later = (CheckIn.objects.filter(session_id=checkin.session_id, day__gt=checkin.day)
             .exclude(status=CheckIn.Status.CANCELLED).values_list("status", "due_at"))
    return late_checkin_fate(
        later=[(status == CheckIn.Status.SCHEDULED, due_at) for status, due_at in later],
        now=now, replaced_within=settings.CHECKIN_LATE_REPLACED_WITHIN)


def _messages_build(checkin: CheckIn, *, reminder: bool) -> tuple[Messages, str]:
    """Each of the check-in's channels' message, holding one fresh link: (them, its hash)."""
    raw_token, hashed = token_new()
    messages: Messages = [
        (channel, channel.checkin_message(checkin, token=raw_token, reminder=reminder))
        for channel in checkin_channels(checkin, reminder=reminder)
    ]
    return messages, hashed


def _messages_send(messages: Messages, *, sessions: Sessions) -> Results:
    return [(channel, sessions.of(channel).send(message)) for channel, message in messages]


def _none_sent(results: Results) -> SendResult | None:
    """The check-in's failure when none of its messages went (permanent if every one's is)."""
    if any(result.sent for _channel, result in results):
        return None
    failures = [result for _channel, result in results]
    if not failures:
        return SendResult(Failure.PERMANENT, reason="no channel reaches the patient",
                          error_type="NoChannel")
    reason = failures[0].reason if len(failures) == 1 else "; ".join(
        f"{channel.name}: {result.reason}" for channel, result in results)
    return SendResult(Failure.PERMANENT if all(r.permanent for r in failures)
                      else Failure.TEMPORARY,
                      reason=reason[:250], error_type=failures[0].error_type)


def _deliveries(checkin: CheckIn, results: Results, *, reminder: bool,
                now: datetime) -> list[Delivery]:
    """The records of a check-in's messages that went; a channel that refused its own while
    another's went is recorded ``failed``, with why."""
    return [
        Delivery(checkin=checkin, channel=channel.name,
                 kind=Delivery.Kind.REMINDER if reminder else Delivery.Kind.INVITATION,
                 send_generation=checkin.send_generation, at=now,
                 status=result.status if result.sent else Delivery.Status.FAILED,
                 error="" if result.sent else result.reason[:300],
                 provider_message_id=result.provider_message_id)
        for channel, result in results
    ]


def _send_invitations(checkins: list[CheckIn], *, token: uuid.UUID, now: datetime,
                      sessions: Sessions, report: SweepReport, keeper: LeaseKeeper,
                      pending: set[int]) -> None:
    """Day-N invitations of a claimed batch, each built, sent and recorded on its own.

    The links are written in one INSERT before any message leaves (a patient
    who clicks at once must find theirs; a retried send adds a second link,
    both valid until the check-in is answered or expires). Each message's
    "sent" is committed, with its delivery records, as soon as the server
    took it and before the next one goes: a sender that dies, or a database
    that goes away, leaves at most the message in hand to go again (with the
    same Message-ID).
    """
    built: list[tuple[CheckIn, Messages, str]] = []
    for checkin in checkins:
        try:
            messages, hashed = _messages_build(checkin, reminder=False)
        except Exception as error:
            pending.discard(checkin.pk)
            with _on_its_own(checkin, report=report):
                if isinstance(error, NoChannelLeft):
                    _call_instead(checkin, token, now=now, reminder=False)
                    continue
                _record_send_failure(checkin, token, now=now, report=report,
                                     result=_build_failure(error))
            continue
        built.append((checkin, messages, hashed))
    CheckInLink.objects.bulk_create([
        CheckInLink(checkin=checkin, token_hash=hashed,
                    expires_at=now + settings.CHECKIN_LINK_TTL)
        for checkin, _messages, hashed in built
    ])
    for checkin, messages, _hashed in built:
        if not _still_held(checkin, keeper=keeper, pending=pending, report=report):
            continue
        if not _gate(checkin, token=token):
            pending.discard(checkin.pk)
            report.lost_claims += 1
            continue
        with _on_its_own(checkin, report=report):
            results = _messages_send(messages, sessions=sessions)
            pending.discard(checkin.pk)
            failure = _none_sent(results)
            if failure is not None:
                _record_send_failure(checkin, token, now=now, report=report, result=failure)
                continue
            _partial_failures_count(results, report=report)
            _invitation_mark_sent(checkin, results, token=token, now=now, report=report)


def _invitation_mark_sent(checkin: CheckIn, results: Results, *, token: uuid.UUID,
                          now: datetime, report: SweepReport) -> None:
    """One invitation that left: ``sent``, its deliveries beside it, in one commit.

    Only while the claim is still ours. A due time that a clinic edit moved
    while the message was going is brought back to the send: the patient's
    link opens now.
    """
    with transaction.atomic():
        done = CheckIn.objects.filter(pk=checkin.pk, claim_token=token).update(
            status=CheckIn.Status.SENT, sent_at=now, attempts=0, last_error="",
            expires_at=now + settings.CHECKIN_LINK_TTL,
            next_action_at=now + settings.CHECKIN_REMINDER_AFTER, claim_token=None,
            due_at=Least(F("due_at"), Value(now, output_field=DateTimeField())),
        )
        if done:
            Delivery.objects.bulk_create(_deliveries(checkin, results, reminder=False, now=now))
    report.invitations_sent += done
    if not done:
        report.lost_claims += 1
        logger.warning("check-in #%s: claim lost while sending; the sender that holds it "
                       "will finish", checkin.pk)


def _partial_failures_count(results: Results, *, report: SweepReport) -> None:
    """A channel that refused its message while another channel's went: in the report."""
    for _channel, result in results:
        if result.failure is not None:
            report.errors.append(result.error_type or result.failure.value)


def _build_failure(error: Exception) -> SendResult:
    """A message that could not be built: its own failed attempt, never the batch's."""
    kind = type(error).__name__
    if isinstance(error, Undeliverable):
        return SendResult(Failure.PERMANENT, reason=str(error), error_type=kind)
    logger.warning("a check-in message could not be built: %s", kind)
    return SendResult(Failure.TEMPORARY, reason=f"not built: {kind}: {error}"[:250],
                      error_type=kind)


def _record_send_failure(checkin: CheckIn, token: uuid.UUID, *, now: datetime,
                         report: SweepReport, result: SendResult) -> None:
    failure = result.failure or Failure.TEMPORARY
    report.errors.append(result.error_type or failure.value)
    # Never retried before its due time: a clinic edit may have moved it meanwhile.
    gave_up = claim_record_failure(instance=checkin, token=token, now=now,
                                   reason=result.reason, failed_status=CheckIn.Status.FAILED,
                                   permanent=failure is Failure.PERMANENT,
                                   not_before=F("due_at"))
    if gave_up:
        report.failed += 1
        escalation_raise_for_undelivered(checkin=checkin, reason=result.reason, now=now)


def _call_instead(checkin: CheckIn, token: uuid.UUID, *, now: datetime,
                  reminder: bool) -> None:
    """No channel left to the patient: nothing is sent, and the check-in is put on the
    "Call instead" list, never dropped. An invitation is ``missed`` (staff may
    still take its answers by phone); a reminder counts as gone, so the
    non-response flag still follows."""
    with transaction.atomic():
        if reminder:
            sent_at, expires_at = _sent_window(checkin)
            done = claim_finish(instance=checkin, token=token, reminder_sent_at=now, attempts=0,
                                next_action_at=min(sent_at + settings.CHECKIN_NO_RESPONSE_AFTER,
                                                   expires_at))
        else:
            done = claim_finish(instance=checkin, token=token, status=CheckIn.Status.MISSED,
                                next_action_at=None, attempts=0,
                                last_error="not sent: the patient has opted out of every "
                                           "channel; call instead")
        if done:
            call_instead_record(checkin=checkin, now=now)


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
                   report: SweepReport, sessions: Sessions) -> None:
    finish = partial(claim_finish, instance=checkin, token=token)
    sent_at, expires_at = _sent_window(checkin)
    if checkin.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
        finish(status=CheckIn.Status.FAILED, next_action_at=None)
        report.failed += 1
        return
    if not _gate(checkin, token=token):
        report.lost_claims += 1
        return
    try:
        messages, hashed = _messages_build(checkin, reminder=True)
        # The reminder carries a link of its own, valid to the same deadline.
        CheckInLink.objects.create(checkin=checkin, token_hash=hashed, expires_at=expires_at)
    except Exception as error:
        if isinstance(error, NoChannelLeft):
            _call_instead(checkin, token, now=now, reminder=True)
            return
        _record_send_failure(checkin, token, now=now, report=report,
                             result=_build_failure(error))
        return
    results = _messages_send(messages, sessions=sessions)
    failure = _none_sent(results)
    if failure is not None:
        _record_send_failure(checkin, token, now=now, report=report, result=failure)
        return
    _partial_failures_count(results, report=report)
    with transaction.atomic():
        done = finish(reminder_sent_at=now, attempts=0, last_error="",
                      next_action_at=min(sent_at + settings.CHECKIN_NO_RESPONSE_AFTER,
                                         expires_at))
        if done:
            Delivery.objects.bulk_create(_deliveries(checkin, results, reminder=True, now=now))
    report.reminders_sent += done
    if not done:
        report.lost_claims += 1
        logger.warning("check-in #%s: claim lost while sending; the sender that holds it "
                       "will finish", checkin.pk)


def checkin_delivery_failed(*, checkin: CheckIn, reason: str,
                            now: datetime | None = None) -> bool:
    """A sent message bounced (the provider said so later): the check-in is ``failed``.

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


def delivery_provider_event(event: ProviderEvent) -> bool:
    """A provider's word about a message after it left; returns whether anything changed.

    The message is found by the provider's id kept on its delivery, or by our
    own identifier when the provider reports that. A receipt marks its
    delivery ``delivered``; a failure (a bounce, a complaint) marks it
    ``failed`` and fails the check-in (``checkin_delivery_failed``), unless
    the message was sent before a staff resend: that says nothing about the
    new one. A check-in already answered, missed or failed stays so.
    """
    delivery = _delivery_of(event)
    checkin: CheckIn | None
    if delivery is not None:
        checkin = delivery.checkin
        current = delivery.send_generation == checkin.send_generation
    elif event.ours is not None:
        # Sent before its delivery was recorded, or never recorded: the
        # check-in itself, if the message is of its current send.
        checkin = (CheckIn.objects.select_related("session__patient__clinic")
                   .filter(pk=event.ours.checkin_id, send_generation=event.ours.send_generation)
                   .first())
        current = True
    else:
        checkin = None
    if checkin is None:
        return False
    at = event.at or timezone.now()
    with transaction.atomic():
        moved = 0
        if delivery is not None and event.status == Delivery.Status.FAILED:
            moved = Delivery.objects.filter(pk=delivery.pk).exclude(
                status=Delivery.Status.FAILED).update(status=event.status, at=at,
                                                      error=event.error[:300])
        elif delivery is not None and event.status == Delivery.Status.DELIVERED:
            moved = Delivery.objects.filter(
                pk=delivery.pk, status__in=(Delivery.Status.QUEUED, Delivery.Status.SENT),
            ).update(status=event.status, at=at)
        failed = (event.status == Delivery.Status.FAILED and current
                  and checkin_delivery_failed(checkin=checkin, reason=event.error))
    if failed:
        logger.warning("check-in #%s: the provider reported its %s message %s", checkin.pk,
                       event.channel, event.status)
    return bool(moved) or failed


def _delivery_of(event: ProviderEvent) -> Delivery | None:
    deliveries = (Delivery.objects.select_related("checkin__session__patient__clinic")
                  .filter(channel=event.channel).order_by("-id"))
    if event.provider_message_id:
        found = deliveries.filter(provider_message_id=event.provider_message_id).first()
        if found is not None:
            return found
    if event.ours is not None:
        return deliveries.filter(
            checkin_id=event.ours.checkin_id, send_generation=event.ours.send_generation,
            kind=Delivery.Kind.REMINDER if event.ours.reminder else Delivery.Kind.INVITATION,
        ).first()
    return None


# Answers -------------------------------------------------------------------------


def _photo_store(response: CheckInResponse, photo) -> None:
    """Write the answers' photo under a name chosen before the write.

    A write that fails half-way (a full disk, the store gone mid-upload)
    raises without saying what it had written; with the name known, what it
    left is removed: a patient's photo never stays on the store with no
    answer pointing at it.
    """
    field = response.photo.field
    storage = response.photo.storage
    name = storage.get_available_name(field.generate_filename(response, "photo.jpg"),
                                      max_length=field.max_length)
    try:
        response.photo = storage.save(name, photo, max_length=field.max_length)
    except Exception:
        try:
            if storage.exists(name):
                storage.delete(name)
        except Exception:  # the store is away: nothing more can be done here
            logger.exception("a photo half-written could not be removed")
        raise


def response_record(*, checkin: CheckIn, answers: Mapping, channel: str, entered_by=None,
                    photo=None, now: datetime | None = None) -> CheckInResponse:
    """Store a check-in's answers once, assess them, and raise any escalation.

    Answers before the check-in's due time are refused (``CheckInNotOpen``); a
    check-in answered late is judged by its own day, whenever it is answered.

    In one transaction: the check-in is taken by one conditional UPDATE (of
    two racing submissions exactly one changes the row, the other waits for
    its lock, finds the check-in completed and gets CheckInClosed; the
    one-to-one constraint on the answers backs that up), then the answers,
    their escalation, the watch (day-10) check-in after a watch answer at day
    7 and, for answers staff took by phone, the audit entry.
    """
    now = now or timezone.now()
    if now < checkin.due_at:
        raise CheckInNotOpen(checkin)
    allowed = (
        (CheckIn.Status.SCHEDULED, CheckIn.Status.SENT, CheckIn.Status.MISSED)
        if channel == CheckInResponse.Channel.STAFF
        else CheckIn.OPEN_STATUSES
    )
    response = CheckInResponse(
        checkin=checkin, clinic_id=checkin.session.patient.clinic_id, channel=channel,
        entered_by=entered_by, submitted_at=now,
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
                _photo_store(response, photo)
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
            webhooks.checkin_answered(response=response)
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
