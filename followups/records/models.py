"""The record of each erasure: who, when and why (the patient's identity is gone)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from patients.models import Patient

ERASURE_REASON_MAX_LENGTH = 500


class PatientErasure(models.Model):
    """A patient whose identity, contact details, free text and photos were removed.

    Irreversible: the row stays, so the erasure is proven and never done twice,
    and so the de-identified answers and flags still count in the statistics.
    """

    class Trigger(models.TextChoices):
        REQUEST = "request", "On request"
        RETENTION = "retention", "Retention period over"

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="erasure")
    erased_at = models.DateTimeField()
    # None for the retention task: the policy erased, no person.
    erased_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+")
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    reason = models.CharField(max_length=ERASURE_REASON_MAX_LENGTH)
    photos_deleted = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = "followups"
        ordering = ["-erased_at"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""), name="erasure_has_reason"),
            models.CheckConstraint(condition=models.Q(trigger="retention")
                                   | models.Q(erased_by__isnull=False),
                                   name="erasure_request_has_author"),
        ]

    def __str__(self) -> str:
        return f"Erasure of patient #{self.patient_id}"
