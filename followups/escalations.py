"""Escalations: raising them from answers or silence, alerting, handling.

The clinical decisions live in ``followups.rules`` (pure); this module stores
their result, makes sure an urgent one reaches a person, and records who
handled it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from followups import emails, rows, rules
from followups.audit import audit_record
from followups.models import (
    AuditEvent,
    CheckIn,
    CheckInResponse,
    ClusterSignal,
    Escalation,
)

logger = logging.getLogger(__name__)

ANSWER_FIELDS = (*CheckInResponse.SEVERITY_FIELDS, *CheckInResponse.TREND_FIELDS,
                 *CheckInResponse.YES_NO_FIELDS)

# Cluster signals. RASH and BREAKOUT documents: allergic reactions to the
# products used (numbing creams, serums); BREAKOUT: infection from equipment
# that is not properly sterilised.
LOT_CLUSTER_CODES = frozenset({"SEVERE_RASH", "RASH_PERSISTS", "RASH_WORSENING", "ALLERGY"})
PRACTITIONER_CLUSTER_CODES = frozenset({"PUS", "FEVER"})
CLUSTER_CODES = LOT_CLUSTER_CODES | PRACTITIONER_CLUSTER_CODES


def answers_of(response: CheckInResponse) -> rules.Answers:
    return rules.Answers.from_mapping({name: getattr(response, name) for name in ANSWER_FIELDS})


def response_assess(*, response: CheckInResponse, now: datetime) -> rules.Assessment:
    checkin = response.checkin
    session = checkin.session
    allergies = session.patient.known_allergies or []
    # The first check-in has nothing before it, and products only matter to a
    # patient with known allergies: neither needs a query then.
    previous = [
        answers_of(earlier) for earlier in rows.earlier_responses_of(checkin)
    ] if checkin.day > min(settings.CHECKIN_DAYS) else []
    ingredients = rows.session_ingredients(session_id=session.pk) if allergies else []
    return rules.assess_answers(
        answers=answers_of(response), day=checkin.day, previous=previous,
        known_allergies=allergies, product_ingredients=ingredients, now=now,
    )


def escalation_raise_for_response(*, response: CheckInResponse,
                                  now: datetime | None = None) -> Escalation | None:
    """Assess stored answers; flag the patient if they fall outside the normal range."""
    now = now or timezone.now()
    assessment = response_assess(response=response, now=now)
    response.assessment_level = assessment.level.label
    response.assessment_reasons = assessment.as_dict()["reasons"]
    response.save(update_fields=["assessment_level", "assessment_reasons"])
    return escalation_raise_for_assessment(response=response, assessment=assessment, now=now)


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


def _escalation_create(*, checkin: CheckIn, response, trigger: str,
                       assessment: rules.Assessment, now: datetime,
                       may_exist: bool = True) -> Escalation | None:
    session = checkin.session
    level = assessment.level.label
    reasons = assessment.as_dict()["reasons"]
    escalation = Escalation(
        patient=session.patient, session=session, checkin=checkin, response=response,
        trigger=trigger, level=level, reasons=reasons, created_at=now,
        next_action_at=now if level == "urgent" else None,
        # Only a cluster reason leaves the escalation for the sweep to look at.
        clusters_checked_at=None if _codes(reasons) & CLUSTER_CODES else now,
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
    if level == "urgent":
        # The sweep sends the alert and looks for a cluster: now, not in a minute.
        from followups.services import kick_sweep

        transaction.on_commit(kick_sweep)
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
    return escalation


@transaction.atomic
def escalation_resolve(*, escalation: Escalation, actor, note: str) -> Escalation:
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say what was done: a resolution note is required."})
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


def escalation_alerts_process(*, now: datetime | None, limit: int, report) -> None:
    """Send the urgent alert at once, and again to every staff member at the deadline."""
    from followups.services import _fail_attempt, _finish, claim_due

    while True:
        current = now or timezone.now()
        token, claimed = claim_due(
            Escalation.objects.filter(level="urgent").select_related("patient__clinic"),
            now=current, limit=limit,
        )
        for escalation in claimed:
            _alert_process_claimed(escalation, token=token, now=current, report=report,
                                   finish=_finish, fail=_fail_attempt)
        if len(claimed) < limit:
            return


def _alert_process_claimed(escalation: Escalation, *, token, now: datetime, report, finish,
                           fail) -> None:
    if escalation.status != Escalation.Status.OPEN:
        finish(escalation, token, next_action_at=None)
        return
    clinic = escalation.patient.clinic
    deadline = escalation.created_at + settings.URGENT_ACK_DEADLINE
    if escalation.alert_sent_at is None:
        recipients, renotify = ([clinic.email] if clinic.email else _staff_emails(clinic)), False
    elif escalation.renotified_at is None and now >= deadline:
        recipients, renotify = _staff_emails(clinic), True
    else:
        finish(escalation, token, next_action_at=deadline if escalation.renotified_at is None
               else None)
        return
    if escalation.attempts > settings.DELIVERY_MAX_ATTEMPTS or not recipients:
        finish(escalation, token, next_action_at=None,
               last_error="no recipients" if not recipients else "too many attempts")
        logger.error("urgent escalation #%s: alert could not be delivered", escalation.pk)
        return
    try:
        emails.escalation_alert_email(escalation, recipients=recipients,
                                      renotify=renotify).send()
    except Exception as error:
        fail(escalation, token, now=now, error=error, failed_status=None)
        report.errors.append(type(error).__name__)
        return
    if renotify:
        report.renotifications_sent += finish(escalation, token, renotified_at=now, attempts=0,
                                              next_action_at=None, last_error="")
    else:
        report.alerts_sent += finish(escalation, token, alert_sent_at=now, attempts=0,
                                     last_error="", next_action_at=max(deadline, now))


# Cluster signals ----------------------------------------------------------------------


def _codes(reasons: list[dict]) -> frozenset[str]:
    return frozenset(reason["code"] for reason in reasons)


@dataclass(frozen=True)
class _Related:
    """What a cluster needs of another escalation: which one, whose, and why."""

    id: int
    patient_id: int
    codes: frozenset[str]


def _related(escalations, codes: frozenset[str]) -> list[_Related]:
    """The escalations of a queryset with one of ``codes``; only three columns are read."""
    found = {}
    for pk, patient_id, reasons in escalations.values_list("id", "patient_id", "reasons"):
        matching = _codes(reasons) & codes
        if matching:
            found[pk] = _Related(id=pk, patient_id=patient_id, codes=matching)
    return list(found.values())


def escalation_clusters_process(*, now: datetime | None = None) -> int:
    """Look for cluster signals around the escalations raised since the last sweep.

    A clinic-level pattern, not one patient's care: the request that stores
    the answers and raises the escalation does not wait for it. Each waiting
    escalation is claimed and checked in a transaction of its own, as of when
    it was raised. Concurrent sweeps share them: ``SKIP LOCKED``, and a
    ``NO KEY`` lock, so that another sweep adding this escalation to a signal
    (a foreign key to it) never waits on the claim. A check that fails leaves
    its escalation waiting for the next sweep.
    """
    now = now or timezone.now()
    checked, failed = 0, []
    while True:
        escalation = None
        try:
            with transaction.atomic():
                escalation = (
                    Escalation.objects
                    .select_for_update(skip_locked=True, no_key=True, of=("self",))
                    .filter(clusters_checked_at__isnull=True).exclude(pk__in=failed)
                    .select_related("session", "patient__clinic")
                    .order_by("created_at", "id").first()
                )
                if escalation is None:
                    return checked
                cluster_signals_update(escalation=escalation, now=escalation.created_at)
                Escalation.objects.filter(pk=escalation.pk).update(clusters_checked_at=now)
        except Exception:
            if escalation is None:
                raise  # the claim itself failed: the sweep reports it
            # Rolled back whole, up to the commit's deferred checks.
            logger.exception("escalation #%s: cluster check failed; the next sweep "
                             "retries it", escalation.pk)
            failed.append(escalation.pk)
            continue
        checked += 1


def cluster_signals_update(*, escalation: Escalation, now: datetime) -> list[ClusterSignal]:
    """Raise or extend a clinic-level signal when related escalations cluster.

    3 or more patients (CLUSTER_MIN_PATIENTS) whose sessions used the same
    product lot within CLUSTER_WINDOW_DAYS, with rash or allergy escalations;
    or 3 or more patients of one practitioner with infection escalations.
    An open signal takes in each new related escalation as it is checked, and
    keeps every one it has taken in until staff close it: the window decides
    when a signal starts, never what drops out of one.
    """
    codes = _codes(escalation.reasons)
    session = escalation.session
    clinic = escalation.patient.clinic
    since = now - timedelta(days=settings.CLUSTER_WINDOW_DAYS)
    recent = Escalation.objects.filter(patient__clinic=clinic,
                                       session__performed_at__gte=since).order_by()
    signals = []
    if codes & LOT_CLUSTER_CODES:
        # In one order everywhere, so two checks lock the same signals in the same order.
        for application in (session.applications.select_related("product")
                            .order_by("product_id", "lot_number", "id")):
            signal = _signal_extend_or_raise(
                escalation=escalation, codes=LOT_CLUSTER_CODES, now=now, clinic=clinic,
                key=f"lot:{application.product_id}:{application.lot_number}",
                kind=ClusterSignal.Kind.PRODUCT_LOT,
                candidates=recent.filter(
                    session__applications__product=application.product_id,
                    session__applications__lot_number=application.lot_number),
                product=application.product, lot_number=application.lot_number,
            )
            if signal:
                signals.append(signal)
    if codes & PRACTITIONER_CLUSTER_CODES:
        signal = _signal_extend_or_raise(
            escalation=escalation, codes=PRACTITIONER_CLUSTER_CODES, now=now, clinic=clinic,
            key=f"practitioner:{session.practitioner_id}", kind=ClusterSignal.Kind.PRACTITIONER,
            candidates=recent.filter(session__practitioner=session.practitioner_id),
            practitioner_id=session.practitioner_id,
        )
        if signal:
            signals.append(signal)
    return signals


def _signal_extend_or_raise(*, escalation: Escalation, codes: frozenset[str], now: datetime,
                            clinic, key: str, kind: str, candidates,
                            **subject) -> ClusterSignal | None:
    signal = (ClusterSignal.objects.select_for_update()
              .filter(clinic=clinic, key=key, status=ClusterSignal.Status.OPEN).first())
    if signal is not None:
        related = [_Related(id=escalation.pk, patient_id=escalation.patient_id,
                            codes=_codes(escalation.reasons) & codes)]
        signal.reason_codes = sorted(set(signal.reason_codes) | related[0].codes)
        signal.updated_at = now
        signal.save(update_fields=["reason_codes", "updated_at"])
    else:
        related = _related(candidates, codes)
        if len({other.patient_id for other in related}) < settings.CLUSTER_MIN_PATIENTS:
            return None
        try:
            with transaction.atomic():
                signal = ClusterSignal.objects.create(
                    clinic=clinic, key=key, kind=kind, created_at=now, updated_at=now,
                    reason_codes=sorted(set().union(*(other.codes for other in related))),
                    **subject,
                )
        except IntegrityError:
            # Another sweep raised this signal a moment ago (one open signal per
            # key): this escalation joins it.
            return _signal_extend_or_raise(escalation=escalation, codes=codes, now=now,
                                           clinic=clinic, key=key, kind=kind,
                                           candidates=candidates, **subject)
    signal.patients.add(*{other.patient_id for other in related})
    signal.escalations.add(*(other.id for other in related))
    return signal


@transaction.atomic
def cluster_signal_close(*, signal: ClusterSignal, actor) -> ClusterSignal:
    signal = ClusterSignal.objects.select_for_update().get(pk=signal.pk)
    if signal.status == ClusterSignal.Status.OPEN:
        signal.status = ClusterSignal.Status.CLOSED
        signal.closed_by = actor
        signal.closed_at = timezone.now()
        signal.save(update_fields=["status", "closed_by", "closed_at"])
        audit_record(actor=actor, action=AuditEvent.Action.CLOSE_CLUSTER, clinic=signal.clinic,
                     target=str(signal))
    return signal
