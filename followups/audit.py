"""The audit trail: who looked at or changed a patient's follow-up data."""

from __future__ import annotations

from followups.models import AuditEvent


def audit_record(*, actor, action: str, patient=None, clinic=None, target: str = "",
                 changes: dict | None = None) -> AuditEvent:
    if clinic is None and patient is not None:
        clinic = patient.clinic
    return AuditEvent.objects.create(actor=actor, action=action, patient=patient, clinic=clinic,
                                     target=target[:200], changes=changes or {})
