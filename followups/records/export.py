"""A patient's whole record to take away: one FHIR Bundle of type ``collection``."""

from __future__ import annotations

import logging

from followups.audit import audit_record
from followups.delivery import clock
from followups.models import AuditEvent, CheckInResponse, Escalation
from followups.records import fhir
from patients.models import Patient, TreatmentSession

logger = logging.getLogger(__name__)


def _photo_bytes(response: CheckInResponse) -> bytes | None:
    try:
        with response.photo.open("rb") as photo:
            return photo.read()
    except (OSError, ValueError) as error:
        # A photo the storage cannot give back is left out, never the whole record.
        logger.warning("answers #%s: photo not readable for the export (%s)", response.pk,
                       type(error).__name__)
        return None


def patient_record_bundle(*, patient: Patient, base_url: str) -> dict:
    """Everything we hold of ``patient`` that FHIR can carry, photos included as Media."""
    sessions = (TreatmentSession.objects.filter(patient=patient).order_by("performed_at", "id")
                .prefetch_related("applications__product"))
    responses = list(CheckInResponse.objects.filter(checkin__session__patient=patient)
                     .select_related("checkin__session").order_by("submitted_at", "id"))
    escalations = Escalation.objects.filter(patient=patient).order_by("created_at", "id")
    resources = [
        fhir.patient_resource(patient),
        *fhir.allergy_resources(patient),
        *(fhir.procedure_resource(session) for session in sessions),
        fhir.questionnaire_resource(),
        *(fhir.questionnaire_response_resource(response) for response in responses),
        *(fhir.flag_resource(escalation) for escalation in escalations),
    ]
    for response in responses:
        if response.photo:
            content = _photo_bytes(response)
            if content is not None:
                resources.append(fhir.media_resource(response, content))
    return fhir.bundle(kind="collection", resources=resources, base_url=base_url,
                       timestamp=clock.database_now())


def patient_record_export(*, actor, patient: Patient, base_url: str) -> dict:
    """The bundle, audited as a read of everything in it."""
    bundle = patient_record_bundle(patient=patient, base_url=base_url)
    audit_record(actor=actor, action=AuditEvent.Action.EXPORT_RECORD, patient=patient,
                 target=f"Record of patient #{patient.pk} ({len(bundle.get('entry', []))} "
                        "resources)")
    return bundle


