"""Erasure: a patient's identity, contact details, free text and photos removed for good.

What stays is what the clinic's statistics need and what names nobody: the
answers on their scales, the escalations' levels, reason codes and sources,
the sessions' dates and products, de-identified. Every link stops working and
nothing more is sent. The erasure itself is recorded (``PatientErasure``:
who, when, why) and audited.

Photo files are deleted from the storage (the local disk or S3) inside the
erasure's transaction, after every row is changed: if the storage refuses,
the whole erasure is rolled back and can be run again (deleting a file
already gone is harmless), so no erased patient ever keeps a photo behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q, Value
from django.db.models.functions import Coalesce, Replace

from followups.audit import audit_record
from followups.delivery import clock
from followups.models import (
    AuditEvent,
    CallInstead,
    CheckIn,
    CheckInLink,
    CheckInResponse,
    ContactAttempt,
    Delivery,
    Escalation,
    Export,
)
from followups.records.models import ERASURE_REASON_MAX_LENGTH, PatientErasure
from patients.models import Patient, TreatmentSession

logger = logging.getLogger(__name__)

ERASED_FIRST_NAME = "Erased"
ERASED_NOTE = "[erased]"
EXPORT_REMOVED = "Removed when a patient's record was erased: export again."


def erased_email(patient_id: int) -> str:
    # The column must hold an address; .invalid is reserved never to exist (RFC 2606).
    return f"erased-{patient_id}@erased.invalid"


def _strip_reasons(reasons: list) -> list:
    """Each reason's code and source, without its parameters (a quoted word, an address)."""
    return [{"code": reason.get("code", ""), "params": {}, "source": reason.get("source", "")}
            for reason in reasons if isinstance(reason, dict)]


def patient_erase(*, patient: Patient, actor, reason: str,
                  trigger: str = PatientErasure.Trigger.REQUEST) -> PatientErasure:
    """Erase ``patient``; raises ValidationError naming the field for a bad request."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the patient is erased: a reason is required."})
    if len(reason) > ERASURE_REASON_MAX_LENGTH:
        raise ValidationError({"reason": f"At most {ERASURE_REASON_MAX_LENGTH} characters."})
    if trigger == PatientErasure.Trigger.REQUEST and actor is None:
        raise ValueError("an erasure on request has an author")
    with transaction.atomic():
        patient = Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)
        if PatientErasure.objects.filter(patient=patient).exists():
            raise ValidationError("This patient's record was already erased.")
        now = clock.database_now()
        former_name = str(patient)
        responses = CheckInResponse.objects.filter(checkin__session__patient=patient)
        photos = [(response.photo.storage, str(response.photo.name))
                  for response in responses.exclude(photo="").exclude(photo__isnull=True)]

        patient.first_name, patient.last_name = ERASED_FIRST_NAME, ""
        patient.email = erased_email(patient.pk)
        patient.phone = ""  # type: ignore[assignment]  # the field's descriptor takes text
        patient.date_of_birth, patient.notes = None, ""
        patient.save(update_fields=["first_name", "last_name", "email", "phone",
                                    "date_of_birth", "notes"])
        TreatmentSession.objects.filter(patient=patient).update(notes="")
        checkins = CheckIn.objects.filter(session__patient=patient)
        # Nothing more is sent: open check-ins cancelled, links revoked.
        checkins.filter(status__in=CheckIn.OPEN_STATUSES).update(
            status=CheckIn.Status.CANCELLED, next_action_at=None, claim_token=None)
        checkins.update(last_error="")
        CheckInLink.objects.filter(checkin__session__patient=patient,
                                   revoked_at__isnull=True).update(revoked_at=now)
        Delivery.objects.filter(checkin__session__patient=patient).update(error="")
        for response in responses:
            response.comments, response.photo = "", None
            response.comment_waiting = False
            response.assessment_reasons = _strip_reasons(response.assessment_reasons)
            response.save(update_fields=["comments", "photo", "comment_waiting",
                                         "assessment_reasons"])
        for escalation in Escalation.objects.filter(patient=patient):
            escalation.reasons = _strip_reasons(escalation.reasons)
            if escalation.resolution_note:
                escalation.resolution_note = ERASED_NOTE
            # No more alert emails about someone who is no longer named.
            escalation.next_action_at = None
            escalation.save(update_fields=["reasons", "resolution_note", "next_action_at"])
        # No "Call instead" left open for someone who is no longer named.
        CallInstead.objects.filter(patient=patient, done_at__isnull=True).update(done_at=now)
        # Calls keep their outcome and time; what the nurse wrote goes.
        ContactAttempt.objects.filter(escalation__patient=patient).exclude(note="").update(
            note=ERASED_NOTE)
        # Stored CSV exports that may name the patient (their clinic's, or
        # network-wide ones) are removed with the photos; asked again, they
        # are built from the erased record.
        exports = list(Export.objects.filter(Q(clinic=patient.clinic) | Q(clinic__isnull=True),
                                             status=Export.Status.READY).exclude(file=""))
        export_files = [(export.file.storage, str(export.file.name)) for export in exports]
        Export.objects.filter(pk__in=[export.pk for export in exports]).update(
            status=Export.Status.FAILED, file="", error=EXPORT_REMOVED)
        # The audit trail and the admin's history keep what happened, not the name.
        if former_name.strip():
            AuditEvent.objects.filter(patient=patient).update(
                target=Replace("target", Value(former_name), Value(f"patient #{patient.pk}")))
            LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Patient),
                                    object_id=str(patient.pk)).update(
                object_repr=f"Patient #{patient.pk} (erased)")
        erasure = PatientErasure.objects.create(
            patient=patient, erased_at=now, erased_by=actor, trigger=trigger, reason=reason,
            photos_deleted=len(photos))
        if actor is not None:
            audit_record(actor=actor, action=AuditEvent.Action.ERASE, patient=patient,
                         target=f"Erased patient #{patient.pk}: {reason}")
        # Last, so a storage that refuses rolls all of it back (see the module's docstring).
        for storage, name in photos + export_files:
            storage.delete(name)
    logger.info("patient #%s erased (%s), %s photo(s) deleted", patient.pk, trigger,
                len(photos))
    return erasure


@dataclass
class RetentionReport:
    erased: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"erased": self.erased, "failed": self.failed}


def patients_past_retention(*, now: datetime):
    """Patients not yet erased whose last session (or, with none, their record) is too old."""
    cutoff = now - timedelta(days=settings.DATA_RETENTION_DAYS)
    return (Patient.objects.filter(erasure__isnull=True)
            .annotate(last_seen=Coalesce(Max("sessions__performed_at"), "created_at"))
            .filter(Q(last_seen__lt=cutoff)).order_by("last_seen", "id"))


def retention_erase_due(*, batch_size: int | None = None,
                        max_batches: int = 1000) -> RetentionReport:
    """Erase, in batches, every patient past ``DATA_RETENTION_DAYS``; report what was done."""
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    report = RetentionReport()
    reason = f"Retention period over ({settings.DATA_RETENTION_DAYS} days after the last session)"
    skipped: set[int] = set()
    for _batch in range(max_batches):
        ids = list(patients_past_retention(now=clock.database_now()).exclude(pk__in=skipped)
                   .values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        for patient in Patient.objects.filter(pk__in=ids):
            try:
                patient_erase(patient=patient, actor=None, reason=reason,
                              trigger=PatientErasure.Trigger.RETENTION)
            except Exception as error:  # one patient's failure never stops the others
                logger.exception("retention: patient #%s could not be erased", patient.pk)
                report.failed += 1
                report.errors.append(type(error).__name__)
                skipped.add(patient.pk)
            else:
                report.erased += 1
    logger.info("retention: %s patient(s) erased, %s failed", report.erased, report.failed)
    return report
