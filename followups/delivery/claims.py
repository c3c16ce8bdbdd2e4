"""Claims: rows a sweep takes under a lease before doing slow work for them.

A claim moves the row's ``next_action_at`` past the lease and stamps a fresh
``claim_token`` in one conditional UPDATE (``followups.models.Claimable``).
Another sweep then sees the row as not due; a worker that dies mid-send leaves
a row that falls due again when the lease runs out; only the holder of the
token may finish it. Check-ins and urgent escalations are both claimed here.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateTimeField, QuerySet, Value
from django.db.models.functions import Greatest

if TYPE_CHECKING:
    from followups.models import Claimable

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """What one sweep did, added up by each service it called."""

    invitations_sent: int = 0
    reminders_sent: int = 0
    no_response_flags: int = 0
    missed: int = 0
    cancelled: int = 0
    failed: int = 0
    alerts_sent: int = 0
    renotifications_sent: int = 0
    callback_reminders_sent: int = 0
    on_call_texts_sent: int = 0
    clusters_checked: int = 0
    lost_claims: int = 0
    released: int = 0
    deliveries_asked: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if key != "errors"}

    def __str__(self) -> str:
        return ", ".join(
            f"{key.replace('_', ' ')}: {value}" for key, value in self.as_dict().items()
        )


def claim_due_rows(*, queryset: QuerySet, now: datetime, limit: int) -> tuple[uuid.UUID, list]:
    """Claim up to ``limit`` rows of ``queryset`` whose ``next_action_at`` has come.

    One conditional UPDATE both checks the row is still due and pushes its
    next action past the lease, so concurrent sweeps never claim a row twice:
    PostgreSQL re-checks the WHERE clause on a row another transaction just
    changed. SKIP LOCKED lets them share the due rows instead of queueing.
    Returns the claim's token and the claimed rows, read as ``queryset`` reads.
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
        # Attempts are counted when a send is tried (claim_record_failure),
        # never here: a claim that sends nothing costs the row nothing.
        model.objects.filter(id__in=ids, next_action_at__lte=now).update(
            next_action_at=lease_until, claim_token=token
        )
    # By primary key: claim_token has no index, and this must cost O(claimed).
    return token, list(queryset.filter(id__in=ids, claim_token=token))


def claim_finish(*, instance: Claimable, token: uuid.UUID, **changes) -> bool:
    """Apply ``changes`` and release the claim, only if ``token`` still holds it.

    Returns whether it did: False means the lease ran out and another sweep
    took the row over.
    """
    changes.setdefault("claim_token", None)
    return bool(type(instance)._default_manager.filter(pk=instance.pk, claim_token=token)
                .update(**changes))


def claim_renew(*, model, ids: list[int], token: uuid.UUID, now: datetime) -> set[int]:
    """Extend the lease on the rows of ``ids`` still held by ``token``; returns those ids.

    A sender renews before its lease can run out (``LeaseKeeper``), so a slow
    mail server never lets another sweep take over rows still being sent.
    """
    if not ids:
        return set()
    held = model.objects.filter(id__in=ids, claim_token=token)
    renewed = held.update(next_action_at=now + settings.DELIVERY_LEASE)
    if renewed == len(ids):
        return set(ids)
    return set(held.values_list("id", flat=True))


class LeaseKeeper:
    """Tells a sender when to renew its claim, by the local monotonic clock.

    Renewing at half the lease leaves the other half as margin; elapsed time
    on this machine is measured without its wall clock, which may be off.
    """

    def __init__(self, *, model, token: uuid.UUID) -> None:
        self.model = model
        self.token = token
        self._renewed = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self._renewed >= settings.DELIVERY_LEASE.total_seconds() / 2

    def renew(self, *, ids: list[int], now: datetime) -> set[int]:
        held = claim_renew(model=self.model, ids=ids, token=self.token, now=now)
        self._renewed = time.monotonic()
        return held


def claim_record_failure(*, instance: Claimable, token: uuid.UUID, now: datetime, reason: str,
                         failed_status: str | None, permanent: bool = False,
                         not_before: Any = None) -> bool:
    """Count a failed attempt: retry after a backoff, or give up.

    Gives up at once for a ``permanent`` failure, else at the attempt cap;
    giving up clears the next action and, with ``failed_status``, sets it.
    ``not_before``: an expression over the row (its due time) the retry
    never comes before. Returns whether the row gave up.
    """
    attempts = instance.attempts + 1
    instance.attempts = attempts
    gives_up = permanent or attempts >= settings.DELIVERY_MAX_ATTEMPTS
    if gives_up:
        changes = {"next_action_at": None, "last_error": reason[:300], "attempts": attempts}
        if failed_status:
            changes["status"] = failed_status
        claim_finish(instance=instance, token=token, **changes)
        logger.error("%s #%s gave up after %s attempt(s)%s", type(instance).__name__,
                     instance.pk, attempts, " (permanent failure)" if permanent else "")
        return True
    retry_at: Any = now + settings.DELIVERY_RETRY_BACKOFF * attempts
    if not_before is not None:
        retry_at = Greatest(not_before, Value(retry_at, output_field=DateTimeField()))
    claim_finish(instance=instance, token=token, last_error=reason[:300], attempts=attempts,
                 next_action_at=retry_at)
    logger.warning("%s #%s attempt %s failed; will retry", type(instance).__name__,
                   instance.pk, attempts)
    return False
