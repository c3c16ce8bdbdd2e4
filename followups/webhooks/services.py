"""Making and changing a clinic's webhooks: the API's and the admin's one way in."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import transaction

from followups.webhooks.models import Event, Webhook
from followups.webhooks.signing import secret_new
from patients.selectors import user_managed_clinic_ids

MAX_WEBHOOKS_PER_CLINIC = 20


def _check(*, actor, clinic_id: int, events: list, url: str) -> None:
    if not url.lower().startswith(("https://", "http://")):
        raise ValidationError({"url": "A webhook's address starts with https:// (or http://)."})
    if clinic_id not in user_managed_clinic_ids(actor):
        raise ValidationError({"clinic": "Only a manager of this clinic may change its webhooks."})
    unknown = [event for event in events if event not in Event.values]
    if not events or unknown:
        raise ValidationError({"events": f"Choose from {', '.join(Event.values)}."})


@transaction.atomic
def webhook_create(*, actor, data: Mapping) -> Webhook:
    clinic = data["clinic"]
    events = sorted(set(data.get("events") or []))
    _check(actor=actor, clinic_id=clinic.pk, events=events, url=data["url"])
    if Webhook.objects.filter(clinic=clinic).count() >= MAX_WEBHOOKS_PER_CLINIC:
        raise ValidationError({"url": f"At most {MAX_WEBHOOKS_PER_CLINIC} webhooks a clinic."})
    webhook = Webhook(clinic=clinic, url=data["url"], events=events, secret=secret_new())
    webhook.full_clean()
    webhook.save()
    return webhook


@transaction.atomic
def webhook_update(*, actor, webhook: Webhook, data: Mapping) -> Webhook:
    events = sorted(set(data.get("events", webhook.events) or []))
    _check(actor=actor, clinic_id=webhook.clinic_id, events=events,
           url=data.get("url", webhook.url))
    if "clinic" in data and data["clinic"].pk != webhook.clinic_id:
        raise ValidationError({"clinic": "A webhook stays with its clinic."})
    webhook.url = data.get("url", webhook.url)
    webhook.events = events
    webhook.full_clean()
    webhook.save()
    return webhook


def webhook_enable(*, webhook: Webhook) -> Webhook:
    """Turn a webhook back on (the admin's action), its failures forgotten."""
    webhook.active, webhook.disabled_at, webhook.last_error = True, None, ""
    webhook.save(update_fields=["active", "disabled_at", "last_error"])
    return webhook
