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
from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from followups.assessment.schedule import (
    LateFate,
    checkin_due_at,
    checkin_is_late,
    late_checkin_fate,
)
from followups.audit import audit_record
from followups.consent.services import call_instead_record
from followups.delivery import clock, enqueue
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

# A check-in's messages, one per channel it goes out through, and what became of each.
Messages = list[tuple[Channel[Any], Any]]
Results = list[tuple[Channel[Any], SendResult]]


def checkins_process_claimed(*, checkins: list[CheckIn], token: uuid.UUID, now: datetime,
                             report: SweepReport) -> None:
    """Do what each claimed check-in is due for: its invitation, a reminder, expiry…

    ``checkins`` were read by the claim itself (with session, patient and
    clinic); every write is conditional on still holding ``token``. Each
    check-in succeeds or fails on its own: one that cannot be built or sent
    is recorded as its own failed attempt and the batch goes on. The claim
    is renewed while sending, so a slow server never lets it lapse. Each
    channel's session is opened when its first message goes, once a batch.
    """
    keeper = LeaseKeeper(model=CheckIn, token=token)
    pending = {checkin.pk for checkin in checkins}
    invitations = []
    with Sessions() as sessions:
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
def _on_its_own(checkin: CheckIn, *, report: SweepReport) -> Iterator[None]:
    """A bug or a database error for one row: logged, and the batch goes on.

    (A provider's answers are handled where they come.) Its lease runs
    out and the row is tried again.
    """
    try:
        yield
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


# How many sent invitations are marked sent together. A sender that dies
# before marking them leaves them to be sent again after the lease, with the
# same Message-ID: at most one duplicate each, and never more than this many.
INVITATIONS_FINISHED_TOGETHER = 50


def _send_invitations(checkins: list[CheckIn], *, token: uuid.UUID, now: datetime,
                      sessions: Sessions, report: SweepReport, keeper: LeaseKeeper,
                      pending: set[int]) -> None:
    """Day-N invitations of a claimed batch, each built and sent on its own.

    The links are written in one INSERT before any message leaves (a patient
    who clicks at once must find theirs; a retried send adds a second link,
    both valid until the check-in is answered or expires), and the sent ones
    are marked in groups, each with its delivery records.
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
    sent: list[tuple[CheckIn, Results]] = []

    def mark_sent() -> None:
        ids = [checkin.pk for checkin, _results in sent]
        with transaction.atomic():
            # The rows still ours, locked until their deliveries are written
            # beside them; a row another sweep took over is its to finish.
            held = set(_lock(CheckIn.objects.filter(id__in=ids, claim_token=token))
                       .order_by("id").values_list("id", flat=True))
            done = CheckIn.objects.filter(id__in=held).update(
                status=CheckIn.Status.SENT, sent_at=now, attempts=0, last_error="",
                expires_at=now + settings.CHECKIN_LINK_TTL,
                next_action_at=now + settings.CHECKIN_REMINDER_AFTER, claim_token=None,
            ) if held else 0
            Delivery.objects.bulk_create([
                delivery for checkin, results in sent if checkin.pk in held
                for delivery in _deliveries(checkin, results, reminder=False, now=now)
            ])
        report.invitations_sent += done
        pending.difference_update(ids)
        if done < len(sent):
            report.lost_claims += len(sent) - done
            logger.warning("%s check-in(s): claim lost while sending; the sender that holds "
                           "them will finish", len(sent) - done)
        sent.clear()

    try:
        for checkin, messages, _hashed in built:
            if not _still_held(checkin, keeper=keeper, pending=pending, report=report):
                continue
            with _on_its_own(checkin, report=report):
                results = _messages_send(messages, sessions=sessions)
                failure = _none_sent(results)
                if failure is not None:
                    pending.discard(checkin.pk)
                    _record_send_failure(checkin, token, now=now, report=report,
                                         result=failure)
                    continue
                _partial_failures_count(results, report=report)
                sent.append((checkin, results))
                if len(sent) >= INVITATIONS_FINISHED_TOGETHER:
                    mark_sent()
    finally:
        if sent:
            mark_sent()


def _lock(queryset: QuerySet[CheckIn]) -> QuerySet[CheckIn]:
    # NO KEY where the database has it: rows that point at these (their links,
    # their deliveries, an answer) never wait on the lock.
    return queryset.select_for_update(
        no_key=connection.features.has_select_for_no_key_update)


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
    gave_up = claim_record_failure(instance=checkin, token=token, now=now,
                                   reason=result.reason, failed_status=CheckIn.Status.FAILED,
                                   permanent=failure is Failure.PERMANENT)
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
