"""Check-ins: scheduling, the sweep that sends them, and the patient's answers.

Every change of state of a check-in goes through a function here; the API,
the patient's form, the admin, the management command and the Celery tasks
all call these.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from followups import emails, rows
from followups.models import CheckIn, CheckInLink, CheckInResponse
from followups.schedule import checkin_due_at
from followups.tokens import token_hash, token_new
from patients.models import TreatmentSession

logger = logging.getLogger(__name__)


class CheckInClosed(Exception):
    """The check-in cannot take answers any more (already answered, cancelled…)."""


# Scheduling ---------------------------------------------------------------------


def checkins_schedule_for_session(*, session: TreatmentSession) -> list[CheckIn]:
    """Create the day-2 and day-7 check-ins; called inside the session's transaction."""
    clinic = session.patient.clinic
    checkins = []
    for day in settings.CHECKIN_DAYS:
        due_at = checkin_due_at(performed_at=session.performed_at, timezone=clinic.timezone,
                                send_hour=clinic.send_hour, day=day)
        checkins.append(CheckIn(session=session, day=day, due_at=due_at, next_action_at=due_at))
    return CheckIn.objects.bulk_create(checkins)


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
    from followups.audit import audit_record
    from followups.models import AuditEvent

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
    checkin.next_action_at = now
    checkin.attempts = 0
    checkin.claim_token = None
    checkin.last_error = ""
    checkin.save()
    checkin.refresh_from_db()
    audit_record(actor=actor, action=AuditEvent.Action.RESEND, patient=checkin.session.patient,
                 target=str(checkin))
    transaction.on_commit(kick_sweep)
    return checkin


def kick_sweep() -> None:
    """Ask a worker to sweep now; if the broker is away the minute beat will."""
    from followups.tasks import sweep

    try:
        sweep.apply_async(retry=False, expires=55)
    except Exception as error:  # the broker being down must never fail a request
        logger.warning("could not enqueue a sweep (%s); the periodic sweep will run it",
                       type(error).__name__)


# Claiming -------------------------------------------------------------------------


def claim_due(queryset: QuerySet, *, now: datetime, limit: int) -> tuple[uuid.UUID, list]:
    """Claim up to ``limit`` rows whose ``next_action_at`` has come.

    One conditional UPDATE both checks the row is still due and pushes its
    next action past the lease, so concurrent sweeps never claim a row twice:
    PostgreSQL re-checks the WHERE clause on a row another transaction just
    changed. SKIP LOCKED lets them share the due rows instead of queueing.
    """
    token = uuid.uuid4()
    model = queryset.model
    lease_until = now + settings.DELIVERY_LEASE
    with transaction.atomic():
        due = queryset.filter(next_action_at__lte=now).order_by("next_action_at")
        if connection.features.has_select_for_update_skip_locked:
            # NO KEY: only non-key columns change, so rows that point at a
            # claimed one (a link, answers, a cluster's member) never wait on it.
            due = due.select_for_update(skip_locked=True, no_key=True, of=("self",))
        ids = list(due.values_list("id", flat=True)[:limit])
        if not ids:
            return token, []
        model.objects.filter(id__in=ids, next_action_at__lte=now).update(
            next_action_at=lease_until, claim_token=token, attempts=F("attempts") + 1
        )
    # By primary key: claim_token has no index, and this must cost O(claimed).
    return token, list(queryset.filter(id__in=ids, claim_token=token))


def _finish(instance, token: uuid.UUID, **changes) -> bool:
    """Apply ``changes`` only if we still hold the claim; report whether we did."""
    changes.setdefault("claim_token", None)
    return bool(type(instance).objects.filter(pk=instance.pk, claim_token=token).update(**changes))


def _fail_attempt(instance, token: uuid.UUID, *, now: datetime, error: Exception,
                  failed_status: str | None) -> None:
    message = f"{type(error).__name__}: {str(error)[:200]}"
    if instance.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
        changes = {"next_action_at": None, "last_error": message}
        if failed_status:
            changes["status"] = failed_status
        _finish(instance, token, **changes)
        logger.error("%s #%s failed after %s attempts: %s", type(instance).__name__,
                     instance.pk, instance.attempts, type(error).__name__)
    else:
        _finish(instance, token, last_error=message,
                next_action_at=now + settings.DELIVERY_RETRY_BACKOFF * instance.attempts)
        logger.warning("%s #%s attempt %s failed: %s; will retry", type(instance).__name__,
                       instance.pk, instance.attempts, type(error).__name__)


# The sweep ---------------------------------------------------------------------


@dataclass
class SweepReport:
    invitations_sent: int = 0
    reminders_sent: int = 0
    no_response_flags: int = 0
    missed: int = 0
    cancelled: int = 0
    failed: int = 0
    alerts_sent: int = 0
    renotifications_sent: int = 0
    clusters_checked: int = 0
    lost_claims: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if key != "errors"}

    def __str__(self) -> str:
        return ", ".join(
            f"{key.replace('_', ' ')}: {value}" for key, value in self.as_dict().items()
        )


def followups_sweep(*, now: datetime | None = None, batch_size: int | None = None,
                    on_claimed: Callable[[object], None] | None = None) -> SweepReport:
    """One sweep: everything due now: check-ins, escalation alerts, cluster checks.

    Run every minute by Celery beat and on demand by ``dispatch_checkins``.
    """
    from followups.escalations import escalation_alerts_process, escalation_clusters_process

    report = SweepReport()
    limit = batch_size or settings.SWEEP_BATCH_SIZE
    while True:
        current = now or timezone.now()
        token, claimed = claim_due(
            CheckIn.objects.filter(status__in=CheckIn.OPEN_STATUSES)
            .select_related("session__patient__clinic"),
            now=current, limit=limit,
        )
        invitations = []
        for checkin in claimed:
            if on_claimed:
                on_claimed(checkin)
            if _invitation_due(checkin, now=current):
                invitations.append(checkin)
            else:
                checkin_process_claimed(checkin, token=token, now=current, report=report)
        if invitations:
            _send_invitations(invitations, token=token, now=current, report=report)
        if len(claimed) < limit:
            break
    escalation_alerts_process(now=now, limit=limit, report=report)
    report.clusters_checked += escalation_clusters_process(now=now)
    return report


def checkin_process_claimed(checkin: CheckIn, *, token: uuid.UUID, now: datetime,
                            report: SweepReport) -> None:
    # ``checkin`` was read by the claim itself; every write below is
    # conditional on still holding ``token``.
    if checkin.session.cancelled_at is not None:
        _finish(checkin, token, status=CheckIn.Status.CANCELLED, next_action_at=None)
        report.cancelled += 1
        return
    too_late = now - checkin.due_at > settings.CHECKIN_LINK_TTL
    if checkin.status == CheckIn.Status.SCHEDULED and too_late:
        # Lateness cut-off: a "day-2" email arriving days late (a session
        # recorded long after it happened, or an outage) would only confuse.
        _finish(checkin, token, status=CheckIn.Status.MISSED, next_action_at=None,
                last_error="not sent: more than the link lifetime past its due time")
        report.missed += 1
        return
    if checkin.status == CheckIn.Status.SCHEDULED:
        # Not an invitation due (see _invitation_due): its attempts are spent.
        _finish(checkin, token, status=CheckIn.Status.FAILED, next_action_at=None)
        report.failed += 1
        return
    # Sent and waiting for the patient: a reminder, a non-response flag, expiry.
    reminder_due = checkin.sent_at + settings.CHECKIN_REMINDER_AFTER
    no_response_due = checkin.sent_at + settings.CHECKIN_NO_RESPONSE_AFTER
    if checkin.reminder_sent_at is None and now < checkin.expires_at and now >= reminder_due:
        _send_reminder(checkin, token=token, now=now, report=report)
        return
    if checkin.reminder_sent_at is not None and now >= no_response_due:
        from followups.escalations import escalation_raise_for_no_response

        if escalation_raise_for_no_response(checkin=checkin, now=now):
            report.no_response_flags += 1
    if now >= checkin.expires_at:
        CheckInLink.objects.filter(checkin=checkin, revoked_at__isnull=True).update(revoked_at=now)
        if _finish(checkin, token, status=CheckIn.Status.MISSED, next_action_at=None, attempts=0):
            report.missed += 1
        return
    _finish(checkin, token, attempts=0, next_action_at=_next_waiting_action(checkin, now))


def _invitation_due(checkin: CheckIn, *, now: datetime) -> bool:
    return (checkin.status == CheckIn.Status.SCHEDULED
            and checkin.session.cancelled_at is None
            and now - checkin.due_at <= settings.CHECKIN_LINK_TTL
            and checkin.attempts <= settings.DELIVERY_MAX_ATTEMPTS)


# How many sent invitations are marked sent together. A sender that dies
# before marking them leaves them to be sent again after the lease, with the
# same Message-ID: at most one duplicate each, and never more than this many.
INVITATIONS_FINISHED_TOGETHER = 50


def _send_invitations(checkins: list[CheckIn], *, token: uuid.UUID, now: datetime,
                      report: SweepReport) -> None:
    """Day-N invitations for a claimed batch: one INSERT of links, one mail connection."""
    tokens = {}
    links = []
    for checkin in checkins:
        tokens[checkin.pk], hashed = token_new()
        links.append(CheckInLink(checkin=checkin, token_hash=hashed,
                                 expires_at=now + settings.CHECKIN_LINK_TTL))
    # The links exist before the emails leave: a patient who clicks at once
    # must find theirs. A retried send adds a second link; both stay valid
    # until the check-in is answered or expires.
    CheckInLink.objects.bulk_create(links)
    sent: list[int] = []

    def mark_sent() -> None:
        done = CheckIn.objects.filter(id__in=sent, claim_token=token).update(
            status=CheckIn.Status.SENT, sent_at=now, expires_at=now + settings.CHECKIN_LINK_TTL,
            attempts=0, last_error="", next_action_at=now + settings.CHECKIN_REMINDER_AFTER,
            claim_token=None,
        )
        report.invitations_sent += done
        if done < len(sent):
            report.lost_claims += len(sent) - done
            logger.warning("%s check-in(s): claim lost while sending; the sender that holds "
                           "them will finish", len(sent) - done)
        sent.clear()

    mailer = mail.get_connection()
    try:
        mailer.open()
    except Exception as error:
        for checkin in checkins:
            _record_send_failure(checkin, token, now=now, error=error, report=report)
        return
    try:
        for checkin in checkins:
            message = emails.checkin_email(checkin, token=tokens[checkin.pk], reminder=False)
            try:
                mailer.send_messages([message])
            except Exception as error:
                _record_send_failure(checkin, token, now=now, error=error, report=report)
                continue
            sent.append(checkin.pk)
            if len(sent) >= INVITATIONS_FINISHED_TOGETHER:
                mark_sent()
    finally:
        if sent:
            mark_sent()
        mailer.close()


def _record_send_failure(checkin: CheckIn, token: uuid.UUID, *, now: datetime,
                         error: Exception, report: SweepReport) -> None:
    _fail_attempt(checkin, token, now=now, error=error, failed_status=CheckIn.Status.FAILED)
    report.errors.append(type(error).__name__)
    if checkin.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
        report.failed += 1


def _next_waiting_action(checkin: CheckIn, now: datetime) -> datetime:
    milestones = [checkin.expires_at]
    if checkin.reminder_sent_at is None:
        milestones.append(checkin.sent_at + settings.CHECKIN_REMINDER_AFTER)
    else:
        milestones.append(checkin.sent_at + settings.CHECKIN_NO_RESPONSE_AFTER)
    upcoming = [moment for moment in milestones if moment > now]
    return min(upcoming) if upcoming else now


def _send_reminder(checkin: CheckIn, *, token: uuid.UUID, now: datetime,
                   report: SweepReport) -> None:
    if checkin.attempts > settings.DELIVERY_MAX_ATTEMPTS:
        _finish(checkin, token, status=CheckIn.Status.FAILED, next_action_at=None)
        report.failed += 1
        return
    raw_token, hashed = token_new()
    # The reminder carries a link of its own, valid to the same deadline.
    CheckInLink.objects.create(checkin=checkin, token_hash=hashed, expires_at=checkin.expires_at)
    try:
        emails.checkin_email(checkin, token=raw_token, reminder=True).send()
    except Exception as error:
        _record_send_failure(checkin, token, now=now, error=error, report=report)
        return
    done = _finish(checkin, token, reminder_sent_at=now, attempts=0, last_error="",
                   next_action_at=min(checkin.sent_at + settings.CHECKIN_NO_RESPONSE_AFTER,
                                      checkin.expires_at))
    report.reminders_sent += done
    if not done:
        report.lost_claims += 1
        logger.warning("check-in #%s: claim lost while sending; the sender that holds it "
                       "will finish", checkin.pk)


# The patient's link ---------------------------------------------------------------


def checkin_for_token(raw_token: str, *, now: datetime | None = None) -> CheckIn | None:
    """The open check-in a link points to, or None: unknown, expired, used alike.

    The check-in comes with its session, patient and clinic loaded.
    """
    if not raw_token or len(raw_token) > 100:
        return None
    return rows.open_checkin_for_token_hash(token_hash(raw_token), now=now or timezone.now())


# Answers -------------------------------------------------------------------------


def response_record(*, checkin: CheckIn, answers: Mapping, channel: str, entered_by=None,
                    photo=None, now: datetime | None = None) -> CheckInResponse:
    """Store a check-in's answers once, assess them, and raise any escalation.

    Taking the check-in is one conditional UPDATE: of two racing submissions
    exactly one changes the row, the other gets CheckInClosed. The one-to-one
    constraint on the answers backs that up. The answers are assessed before
    anything is written (the assessment only reads), so that answers with
    nothing to flag and no photo are stored by one statement, with no
    transaction around it; anything more is written in one transaction.
    """
    from followups.escalations import escalation_raise_for_assessment, response_assess

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
        rash_trend=answers.get("rash_trend") or "",
        breakouts_trend=answers.get("breakouts_trend") or "",
        comments=answers.get("comments") or "",
    )
    # Field by field here, so a mistake is named; the table's constraints
    # still hold every row, without a query each to pre-check them.
    response.full_clean(exclude=["checkin", "entered_by", "photo"], validate_constraints=False)
    missing_trends = {
        f"{symptom}_trend": f"Say whether the {symptom} is better, the same or worse."
        for symptom in ("rash", "breakouts")
        if getattr(response, symptom) != "none" and not getattr(response, f"{symptom}_trend")
    }
    if missing_trends:
        raise ValidationError(missing_trends)
    assessment = response_assess(response=response, now=now)
    response.assessment_level = assessment.level.label
    response.assessment_reasons = assessment.as_dict()["reasons"]
    more_to_write = assessment.flagged or photo is not None
    with transaction.atomic() if more_to_write else nullcontext():
        if photo is not None:
            response.photo.save("photo.jpg", photo, save=False)
        try:
            try:
                _checkin_take_and_answer(checkin=checkin, response=response, allowed=allowed,
                                         now=now)
            except IntegrityError:
                # The other submission of a race committed first.
                raise CheckInClosed("check-in already answered") from None
            escalation_raise_for_assessment(response=response, assessment=assessment, now=now,
                                            answers_new=True)
        except Exception:
            # The transaction rolls back; the file written above would not.
            if response.photo:
                response.photo.delete(save=False)
            raise
    return response


@cache
def _take_and_answer_sql(statuses: int) -> tuple[str, tuple]:
    """PostgreSQL: the conditional UPDATE and the INSERT of the answers, as one statement.

    ``statuses`` is how many statuses the check-in may be in, each its own
    parameter: an array parameter costs psycopg several times more to send.
    """
    quote = connection.ops.quote_name
    fields = tuple(model_field for model_field in CheckInResponse._meta.concrete_fields
                   if not model_field.primary_key and model_field.attname != "checkin_id")
    columns = ", ".join(quote(model_field.column) for model_field in fields)
    checkin_table = quote(CheckIn._meta.db_table)
    sql = (
        f"WITH taken AS (UPDATE {checkin_table} SET status = %s, completed_at = %s,"
        " next_action_at = NULL, claim_token = NULL"
        f" WHERE id = %s AND status IN ({', '.join(['%s'] * statuses)}) RETURNING id)"
        f" INSERT INTO {quote(CheckInResponse._meta.db_table)}"
        f" ({quote('checkin_id')}, {columns})"
        f" SELECT taken.id, {', '.join(['%s'] * len(fields))} FROM taken RETURNING id"
    )
    return sql, fields


def _checkin_take_and_answer(*, checkin: CheckIn, response: CheckInResponse, allowed,
                             now: datetime) -> None:
    """Mark the check-in completed if it is still in ``allowed``, and store its answers."""
    if connection.vendor == "postgresql":
        sql, fields = _take_and_answer_sql(len(allowed))
        values = [model_field.get_db_prep_save(model_field.pre_save(response, True), connection)
                  for model_field in fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, [CheckIn.Status.COMPLETED, now, checkin.pk, *allowed, *values])
            row = cursor.fetchone()
        if row is None:
            raise CheckInClosed("check-in is no longer open")
        response.pk = row[0]
        response._state.adding = False
        response._state.db = connection.alias
    else:
        with transaction.atomic():
            taken = CheckIn.objects.filter(pk=checkin.pk, status__in=allowed).update(
                status=CheckIn.Status.COMPLETED, completed_at=now, next_action_at=None,
                claim_token=None,
            )
            if not taken:
                raise CheckInClosed("check-in is no longer open")
            response.save()
    checkin.status, checkin.completed_at = CheckIn.Status.COMPLETED, now
    checkin.next_action_at = checkin.claim_token = None
