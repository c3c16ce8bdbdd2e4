"""Cluster signals: several patients of one clinic with related escalations.

A clinic-level pattern, not one patient's care: one product lot (rash or
allergy reasons) or one practitioner (infection reasons). The request that
raises an escalation does not wait for this; each sweep checks the
escalations raised since the last one (``escalation_clusters_process``), and
staff close a signal when they have looked into it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from followups.assessment.rules import CLUSTER_CODES, LOT_CLUSTER_CODES, PRACTITIONER_CLUSTER_CODES
from followups.audit import audit_record
from followups.delivery import clock
from followups.models import AuditEvent, ClusterSignal, Escalation

__all__ = ["CLUSTER_CODES", "cluster_signal_close", "cluster_signals_update",
           "escalation_clusters_process", "reason_codes"]

logger = logging.getLogger(__name__)


def reason_codes(reasons: list[dict]) -> frozenset[str]:
    """The rule codes of stored reasons."""
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
        matching = reason_codes(reasons) & codes
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
    now = now or clock.database_now()
    checked = 0
    failed: list[int] = []  # ids of the escalations whose check failed this sweep
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
    codes = reason_codes(escalation.reasons)
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
                            codes=reason_codes(escalation.reasons) & codes)]
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
