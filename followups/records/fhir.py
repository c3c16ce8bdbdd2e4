"""FHIR R4 resources for a patient's follow-up, built and validated with fhir.resources (R4B).

Every resource is written as plain data, then parsed by fhir.resources' R4B
model of its type before it leaves: a field FHIR R4 does not have, a wrong
type or a missing required element raises here, never reaches an EHR. R4B,
not the library's default R5: EHRs speak R4, and R4B is R4's content model
with its corrections (its resources read as R4's).

The product's own codes (reasons, levels, answers) are in code systems under
``CODE_SYSTEM_BASE`` (docs/records.md lists them). No LOINC or SNOMED code is
claimed where we are not sure of it: the check-in questions have none, so
they are the product's own codes with their English text.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from django.utils import translation
from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.media import Media
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from followups.assessment.symptoms import SYMPTOMS, Scale, Severity, Text, Trend
from followups.models import CheckInResponse, Escalation
from patients.models import Language, Patient, TreatmentSession

FHIR_VERSION = "4.0.1"
CODE_SYSTEM_BASE = "https://aftercare-desk.example/fhir"
REASON_SYSTEM = f"{CODE_SYSTEM_BASE}/CodeSystem/escalation-reason"
LEVEL_SYSTEM = f"{CODE_SYSTEM_BASE}/CodeSystem/escalation-level"
SEVERITY_SYSTEM = f"{CODE_SYSTEM_BASE}/CodeSystem/severity"
TREND_SYSTEM = f"{CODE_SYSTEM_BASE}/CodeSystem/trend"
PRODUCT_SYSTEM = f"{CODE_SYSTEM_BASE}/CodeSystem/product"
PROCEDURE_SYSTEM = f"{CODE_SYSTEM_BASE}/CodeSystem/procedure"
REASON_SOURCE_EXTENSION = f"{CODE_SYSTEM_BASE}/StructureDefinition/reason-source"
ERASED_TAG = {"system": f"{CODE_SYSTEM_BASE}/CodeSystem/record-state", "code": "erased",
              "display": "Identity erased"}
TRANSLATION_EXTENSION = "http://hl7.org/fhir/StructureDefinition/translation"
QUESTIONNAIRE_ID = "aftercare-checkin"
QUESTIONNAIRE_URL = f"{CODE_SYSTEM_BASE}/Questionnaire/{QUESTIONNAIRE_ID}"
# The patient's languages besides the Questionnaire's own (English).
TRANSLATED_LANGUAGES = tuple(code for code in Language.values if code != Language.ENGLISH)

MODELS: dict[str, Any] = {
    "Patient": FhirPatient, "Procedure": Procedure, "Questionnaire": Questionnaire,
    "QuestionnaireResponse": QuestionnaireResponse, "Flag": Flag,
    "AllergyIntolerance": AllergyIntolerance, "Media": Media, "Bundle": Bundle,
    "CapabilityStatement": CapabilityStatement, "OperationOutcome": OperationOutcome,
}
# What the server reads and searches (the CapabilityStatement says so).
SEARCHABLE = ("Patient", "Procedure", "Questionnaire", "QuestionnaireResponse", "Flag",
              "AllergyIntolerance")


def validated(data: dict) -> dict:
    """``data`` parsed by its R4B model (raising if it is not valid FHIR), as JSON-ready data."""
    resource = MODELS[data["resourceType"]].model_validate(data)
    return resource.model_dump(mode="json", by_alias=True, exclude_none=True)


def _instant(value: datetime) -> str:
    return value.isoformat()


def _ref(kind: str, pk: object) -> dict:
    return {"reference": f"{kind}/{pk}"}


def is_erased(patient: Patient) -> bool:
    return hasattr(patient, "erasure")


# ------------------------------------------------------------------------ resources


def patient_resource(patient: Patient) -> dict:
    data: dict[str, Any] = {
        "resourceType": "Patient", "id": str(patient.pk),
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47",
                                                     "code": patient.language}]},
                           "preferred": True}],
        "managingOrganization": {"display": patient.clinic.name},
    }
    if is_erased(patient):
        # Nothing that names or reaches the person: only that the record was erased.
        data["active"] = False
        data["meta"] = {"tag": [ERASED_TAG]}
    else:
        data["active"] = True
        data["name"] = [{"use": "official", "family": patient.last_name or None,
                         "given": [patient.first_name]}]
        data["telecom"] = [{"system": "email", "value": patient.email}]
        if patient.phone:
            data["telecom"].append({"system": "phone", "value": patient.phone})
        if patient.date_of_birth:
            data["birthDate"] = patient.date_of_birth.isoformat()
    return validated(data)


def procedure_resource(session: TreatmentSession) -> dict:
    applications = list(session.applications.all())
    data: dict[str, Any] = {
        "resourceType": "Procedure", "id": str(session.pk),
        "status": "not-done" if session.is_cancelled else "completed",
        "code": {"coding": [{"system": PROCEDURE_SYSTEM, "code": "microneedling",
                             "display": "Microneedling"}], "text": "Microneedling"},
        "subject": _ref("Patient", session.patient_id),
        "performedDateTime": _instant(session.performed_at),
        "bodySite": [{"text": session.treatment_area}],
        # Each product as it was used, with its lot, as a contained Medication.
        "contained": [
            {"resourceType": "Medication", "id": f"application-{application.pk}",
             "code": {"coding": [{"system": PRODUCT_SYSTEM, "code": str(application.product_id),
                                  "display": application.product.name}],
                      "text": application.product.name},
             "batch": {"lotNumber": application.lot_number}}
            for application in applications
        ],
        "usedReference": [{"reference": f"#application-{application.pk}",
                           "display": f"{application.product.name} "
                                      f"(lot {application.lot_number}, {application.phase})"}
                          for application in applications],
        "usedCode": [{"coding": [{"system": PRODUCT_SYSTEM, "code": str(application.product_id),
                                  "display": application.product.name}],
                      "text": application.product.name} for application in applications],
    }
    if session.device:
        data["focalDevice"] = [{"manipulated": {"display": session.device}}]
    if session.notes:
        data["note"] = [{"text": session.notes}]
    if not applications:
        del data["contained"], data["usedReference"], data["usedCode"]
    return validated(data)


def _translated(text: Text) -> tuple[str, dict]:
    """The English words and the translation extension holding the other languages'."""
    def words(language: str) -> str:
        with translation.override(language):
            if text.context:
                return translation.pgettext(text.context, text.msgid)
            return translation.gettext(text.msgid)

    return words("en"), {"extension": [
        {"url": TRANSLATION_EXTENSION, "extension": [
            {"url": "lang", "valueCode": language},
            {"url": "content", "valueString": words(language)},
        ]} for language in TRANSLATED_LANGUAGES
    ]}


def _item(link_id: str, text: Text, kind: str, **more) -> dict:
    english, translations = _translated(text)
    return {"linkId": link_id, "text": english, "_text": translations, "type": kind, **more}


def _option(system: str, code: str, label: Text) -> dict:
    english, translations = _translated(label)
    return {"valueCoding": {"system": system, "code": code, "display": english,
                            "_display": translations}}


def questionnaire_resource() -> dict:
    """The check-in form, from the symptom catalogue, in English with French and Spanish."""
    items: list[dict] = []
    for symptom in SYMPTOMS:
        if symptom.scale is Scale.SEVERITY:
            items.append(_item(symptom.name, symptom.question, "choice", required=True,
                               answerOption=[_option(SEVERITY_SYSTEM, step.value_name,
                                                     step.patient_label) for step in Severity]))
        else:
            items.append(_item(symptom.name, symptom.question, "boolean", required=True))
        if symptom.trend is not None:
            items.append(_item(
                symptom.trend_name, symptom.trend.question, "choice", required=False,
                enableWhen=[{"question": symptom.name, "operator": "!=",
                             "answerCoding": {"system": SEVERITY_SYSTEM,
                                              "code": Severity.NONE.value_name}}],
                answerOption=[_option(TREND_SYSTEM, trend.value, trend.patient_label)
                              for trend in Trend]))
    comments = Text.gettext_noop("Anything else you want to tell your clinic? (optional)")
    items.append(_item("comments", comments, "text", required=False))
    return validated({
        "resourceType": "Questionnaire", "id": QUESTIONNAIRE_ID, "url": QUESTIONNAIRE_URL,
        "name": "AftercareCheckIn", "title": "Aftercare check-in", "status": "active",
        "language": "en", "subjectType": ["Patient"], "item": items,
    })


def _answer(response: CheckInResponse, name: str) -> list[dict]:
    value = getattr(response, name)
    if isinstance(value, bool):
        return [{"valueBoolean": value}]
    if value in (None, ""):
        return []
    system = TREND_SYSTEM if name.endswith("_trend") else SEVERITY_SYSTEM
    return [{"valueCoding": {"system": system, "code": value}}]


def questionnaire_response_resource(response: CheckInResponse) -> dict:
    session = response.checkin.session
    items = []
    for symptom in SYMPTOMS:
        for name in (symptom.name, *((symptom.trend_name,) if symptom.trend else ())):
            answers = _answer(response, name)
            if answers:
                items.append({"linkId": name, "answer": answers})
    if response.comments:
        items.append({"linkId": "comments", "answer": [{"valueString": response.comments}]})
    data = {
        "resourceType": "QuestionnaireResponse", "id": str(response.pk),
        "questionnaire": QUESTIONNAIRE_URL, "status": "completed",
        "subject": _ref("Patient", session.patient_id),
        "partOf": [_ref("Procedure", session.pk)],
        "authored": _instant(response.submitted_at),
        "item": items,
    }
    if response.channel == CheckInResponse.Channel.PATIENT_LINK:
        data["source"] = _ref("Patient", session.patient_id)
    return validated(data)


def _reason_coding(reason: Mapping) -> dict:
    coding: dict[str, Any] = {"system": REASON_SYSTEM, "code": str(reason.get("code", ""))}
    if reason.get("source"):
        coding["extension"] = [{"url": REASON_SOURCE_EXTENSION,
                                "valueString": str(reason["source"])}]
    return coding


def flag_resource(escalation: Escalation) -> dict:
    period: dict[str, str] = {"start": _instant(escalation.created_at)}
    if escalation.resolved_at:
        period["end"] = _instant(escalation.resolved_at)
    return validated({
        "resourceType": "Flag", "id": str(escalation.pk),
        "status": "inactive" if escalation.status == Escalation.Status.RESOLVED else "active",
        "category": [{"coding": [{"system": LEVEL_SYSTEM, "code": escalation.level,
                                  "display": escalation.get_level_display()}]}],
        "code": {"coding": [_reason_coding(reason) for reason in escalation.reasons
                            if reason.get("code")] or [{"system": LEVEL_SYSTEM,
                                                        "code": escalation.level}],
                 "text": f"{escalation.get_level_display()} escalation "
                         f"({escalation.get_status_display().lower()})"},
        "subject": _ref("Patient", escalation.patient_id),
        "period": period,
    })


def allergy_id(patient_id: int, index: int) -> str:
    return f"{patient_id}-{index}"


def allergy_resources(patient: Patient) -> list[dict]:
    return [validated({
        "resourceType": "AllergyIntolerance", "id": allergy_id(patient.pk, index),
        "clinicalStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
            "code": "active"}]},
        "code": {"text": ingredient},
        "patient": _ref("Patient", patient.pk),
    }) for index, ingredient in enumerate(patient.known_allergies or [])]


def media_resource(response: CheckInResponse, content: bytes) -> dict:
    return validated({
        "resourceType": "Media", "id": str(response.pk), "status": "completed",
        "subject": _ref("Patient", response.checkin.session.patient_id),
        "partOf": [_ref("QuestionnaireResponse", response.pk)],
        "createdDateTime": _instant(response.submitted_at),
        "content": {"contentType": "image/jpeg",
                    "data": base64.b64encode(content).decode("ascii"),
                    "title": f"Photo with the day-{response.checkin.day} check-in"},
    })


# ------------------------------------------------------------------------ bundles


def bundle(*, kind: str, resources: Iterable[dict], base_url: str,
           timestamp: datetime | None = None) -> dict:
    resources = list(resources)
    data: dict[str, Any] = {"resourceType": "Bundle", "type": kind, "entry": [
        {"fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}",
         "resource": resource, **({"search": {"mode": "match"}} if kind == "searchset" else {})}
        for resource in resources
    ]}
    if kind == "searchset":
        data["total"] = len(resources)
    if timestamp is not None:
        data["timestamp"] = _instant(timestamp)
    if not data["entry"]:
        del data["entry"]
    return validated(data)


def capability_statement(*, base_url: str, now: datetime | date) -> dict:
    return validated({
        "resourceType": "CapabilityStatement", "status": "active",
        "date": now.isoformat(), "kind": "instance", "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json"],
        "software": {"name": "Aftercare desk"},
        "implementation": {"description": "Aftercare follow-ups, read-only", "url": base_url},
        "rest": [{"mode": "server", "resource": [
            {"type": kind, "interaction": [{"code": "read"}, {"code": "search-type"}],
             "searchParam": [{"name": "patient", "type": "reference"}]}
            for kind in SEARCHABLE
        ]}],
    })


def operation_outcome(*, code: str, diagnostics: str) -> dict:
    return validated({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": code, "diagnostics": diagnostics}]})
