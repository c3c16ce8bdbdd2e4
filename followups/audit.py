"""The audit trail: who looked at or changed a patient's follow-up data."""

from __future__ import annotations

from datetime import datetime, timedelta

from followups.models import AuditEvent

PURGE_BATCH = 5_000


def audit_record(*, actor, action: str, patient=None, clinic=None, target: str = "",
                 changes: dict | None = None) -> AuditEvent:
    if clinic is None and patient is not None:
        clinic = patient.clinic
    return AuditEvent.objects.create(actor=actor, action=action, patient=patient, clinic=clinic,
                                     target=target[:200], changes=changes or {})


def audit_exports(*, actor, clinics, what: str, start, end) -> None:
    """An EXPORT event for each clinic the export covers, in one INSERT."""
    target = f"CSV of {what}, {start.isoformat()} to {end.isoformat()}"
    AuditEvent.objects.bulk_create([
        AuditEvent(actor=actor, action=AuditEvent.Action.EXPORT, clinic=clinic, target=target)
        for clinic in clinics])


def audit_purge(*, now: datetime, retention_days: int, batch: int = PURGE_BATCH) -> int:
    """Delete the audit rows older than the retention, ``batch`` rows a statement.

    Each batch is its own short transaction (autocommit): a year of rows to
    drop never holds locks or bloats one transaction. Returns how many went.
    """
    cutoff = now - timedelta(days=retention_days)
    deleted = 0
    while True:
        ids = list(AuditEvent.objects.filter(at__lt=cutoff).order_by("at", "id")
                   .values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += AuditEvent.objects.filter(pk__in=ids).delete()[0]
