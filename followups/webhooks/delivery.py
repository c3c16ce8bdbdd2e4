"""Sending due webhook deliveries: claimed under a lease, signed, retried with backoff.

A delivery is claimed like a check-in (``followups.delivery.claims``, on the
database's clock): two workers never send it twice at once, and one that dies
mid-POST leaves it due again when its lease is over. The POST happens after
the claim's transaction, never inside one. A 2xx answer delivers it; anything
else (a refusal, a timeout, nothing listening) is retried after a doubling
backoff capped at ``WEBHOOK_RETRY_MAX``, so a receiver down for an hour
misses nothing. A delivery still failing ``WEBHOOK_DISABLE_AFTER`` after its
event gives up and turns its webhook off, with the reason, for the dashboard.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

import requests
from django.conf import settings

from followups.delivery import clock
from followups.delivery.claims import claim_due_rows, claim_finish
from followups.webhooks.models import Webhook, WebhookDelivery
from followups.webhooks.signing import SIGNATURE_HEADER, signature

logger = logging.getLogger(__name__)


@dataclass
class WebhookReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    webhooks_disabled: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def delivery_body(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def _post(delivery: WebhookDelivery, *, now: datetime) -> tuple[int | None, str]:
    body = delivery_body(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Aftercare-Webhooks/1",
        SIGNATURE_HEADER: signature(secret=delivery.webhook.secret,
                                    timestamp=int(now.timestamp()), body=body),
    }
    try:
        # No redirects: a receiver that moved says so with a 3xx, a failure to fix.
        answer = requests.post(delivery.webhook.url, data=body, headers=headers,
                               timeout=settings.WEBHOOK_TIMEOUT_SECONDS, allow_redirects=False)
    except requests.RequestException as error:
        return None, f"not reached: {type(error).__name__}"
    if 200 <= answer.status_code < 300:
        return answer.status_code, ""
    return answer.status_code, f"answered HTTP {answer.status_code}"


def backoff(attempts: int):
    delay = settings.WEBHOOK_RETRY_FIRST * (2 ** max(0, attempts - 1))
    return min(delay, settings.WEBHOOK_RETRY_MAX)


def _deliver_claimed(delivery: WebhookDelivery, *, token, report: WebhookReport) -> None:
    webhook = delivery.webhook
    if not webhook.active:
        claim_finish(instance=delivery, token=token, status=WebhookDelivery.Status.FAILED,
                     next_action_at=None, last_error="webhook turned off")
        report.failed += 1
        return
    now = clock.database_now()
    status, error = _post(delivery, now=now)
    attempts = delivery.attempts + 1
    done = clock.database_now()
    if not error:
        report.delivered += claim_finish(
            instance=delivery, token=token, status=WebhookDelivery.Status.DELIVERED,
            delivered_at=done, response_status=status, next_action_at=None, last_error="",
            attempts=attempts)
        Webhook.objects.filter(pk=webhook.pk).exclude(last_error="").update(last_error="")
        return
    Webhook.objects.filter(pk=webhook.pk).update(last_error=error[:300])
    if done - delivery.created_at >= settings.WEBHOOK_DISABLE_AFTER:
        claim_finish(instance=delivery, token=token, status=WebhookDelivery.Status.FAILED,
                     next_action_at=None, last_error=error[:300], attempts=attempts,
                     response_status=status)
        report.failed += 1
        report.webhooks_disabled += Webhook.objects.filter(pk=webhook.pk, active=True).update(
            active=False, disabled_at=done,
            last_error=f"turned off after a day of failures: {error}"[:300])
        logger.error("webhook #%s turned off after a day of failed deliveries", webhook.pk)
        return
    claim_finish(instance=delivery, token=token, last_error=error[:300], attempts=attempts,
                 response_status=status, next_action_at=done + backoff(attempts))
    report.retrying += 1
    logger.warning("webhook delivery #%s attempt %s failed (%s); will retry", delivery.pk,
                   attempts, error)


def webhooks_deliver_due(*, limit: int | None = None) -> WebhookReport:
    """Send every due delivery, a batch at a time, until none is due."""
    limit = limit or settings.WEBHOOK_BATCH_SIZE
    report = WebhookReport()
    while True:
        token, claimed = claim_due_rows(
            queryset=WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
            .select_related("webhook"),
            now=clock.database_now(), limit=limit)
        for delivery in claimed:
            _deliver_claimed(delivery, token=token, report=report)
        if len(claimed) < limit:
            return report
