"""A clinic's webhooks and each delivery of an event to one of them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from followups.models import Claimable
from patients.models import Clinic


class Event(models.TextChoices):
    """What other systems can be told of (interface: "Records, FHIR and webhooks")."""

    ESCALATION_RAISED = "escalation.raised", "An escalation was raised"
    ESCALATION_ACKNOWLEDGED = "escalation.acknowledged", "An escalation was acknowledged"
    ESCALATION_RESOLVED = "escalation.resolved", "An escalation was resolved"
    CHECKIN_ANSWERED = "checkin.answered", "A check-in was answered"


class Webhook(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    # Signs each delivery (HMAC-SHA256); shown once, when the webhook is made.
    secret = models.CharField(max_length=64, editable=False)
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    last_error = models.CharField(max_length=300, blank=True, editable=False)
    # Set when a day of failed deliveries turned the webhook off (the dashboard says so).
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "followups"
        ordering = ["clinic", "id"]

    def __str__(self) -> str:
        return f"Webhook #{self.pk} of {self.clinic}"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(Claimable):
    """One event for one webhook: its JSON body as sent, and what became of it.

    Claimed by the webhook sweep like a check-in (followups.delivery.claims):
    a worker that dies mid-POST leaves it due again when its lease runs out.
    """

    Status = WebhookDeliveryStatus

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=Event.choices)
    # The body as signed and sent: ids, levels, codes and FHIR references only.
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        app_label = "followups"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=WebhookDeliveryStatus.values),
                                   name="webhook_delivery_status_valid"),
            models.CheckConstraint(
                condition=Q(next_action_at__isnull=True) | Q(status="pending"),
                name="webhook_delivery_next_action_only_when_pending"),
        ]
        indexes = [
            # Consumed by followups.delivery.claims.claim_due_rows, as
            # followups.webhooks.delivery.webhooks_deliver_due claims due deliveries.
            models.Index(fields=["next_action_at"], name="webhook_delivery_next_action",
                         condition=Q(next_action_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.event} to webhook #{self.webhook_id}"
