"""/fhir/R4/: read and search a clinic's follow-up records as FHIR R4, read-only.

The API's authentication and clinic scoping (``IsClinicStaff``; each query
is limited to the caller's clinics): a resource of another clinic is a 404,
as if it did not exist. Every answer is ``application/fhir+json``, whatever
the client asked for, and an error is an OperationOutcome. Each read of a
patient's data is audited as the API's reads are.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from followups.api.audit import audit_api_read
from followups.delivery import clock
from followups.records import fhir
from followups.records.selectors import (
    record_escalations,
    record_patients,
    record_responses,
    record_sessions,
)

# Searches answer at most this many resources, newest last; ``_count`` asks for fewer.
SEARCH_MAX = 500


class FhirJSONRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


class FhirOnly(BaseContentNegotiation):
    """FHIR JSON for everyone: a client asking for application/json gets it too."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class FhirError(exceptions.APIException):
    def __init__(self, status: int, code: str, diagnostics: str):
        super().__init__(diagnostics)
        self.status_code = status
        self.fhir_code = code


def _int(value: str, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FhirError(400, "invalid", f"{name}: expected a number, got '{value[:40]}'") from None
    if not 0 < number < 2**31:
        raise FhirError(400, "invalid", f"{name}: out of range")
    return number


def _patient_param(value: str) -> int:
    return _int(value.removeprefix("Patient/"), "patient")


def _patients(user, *, patient: int | None, pk: str | None) -> list[dict]:
    queryset = record_patients(user=user)
    if pk is not None:
        queryset = queryset.filter(pk=_int(pk, "id"))
    if patient is not None:
        queryset = queryset.filter(pk=patient)
    return [fhir.patient_resource(p) for p in queryset.order_by("id")[:SEARCH_MAX]]


def _procedures(user, *, patient: int | None, pk: str | None) -> list[dict]:
    queryset = record_sessions(user=user)
    if pk is not None:
        queryset = queryset.filter(pk=_int(pk, "id"))
    if patient is not None:
        queryset = queryset.filter(patient_id=patient)
    return [fhir.procedure_resource(s) for s in queryset[:SEARCH_MAX]]


def _responses(user, *, patient: int | None, pk: str | None) -> list[dict]:
    queryset = record_responses(user=user)
    if pk is not None:
        queryset = queryset.filter(pk=_int(pk, "id"))
    if patient is not None:
        queryset = queryset.filter(checkin__session__patient_id=patient)
    return [fhir.questionnaire_response_resource(r) for r in queryset[:SEARCH_MAX]]


def _flags(user, *, patient: int | None, pk: str | None) -> list[dict]:
    queryset = record_escalations(user=user)
    if pk is not None:
        queryset = queryset.filter(pk=_int(pk, "id"))
    if patient is not None:
        queryset = queryset.filter(patient_id=patient)
    return [fhir.flag_resource(e) for e in queryset[:SEARCH_MAX]]


def _allergies(user, *, patient: int | None, pk: str | None) -> list[dict]:
    queryset = record_patients(user=user)
    if pk is not None:
        owner, _, _index = pk.partition("-")
        queryset = queryset.filter(pk=_int(owner, "id"))
    if patient is not None:
        queryset = queryset.filter(pk=patient)
    found = [r for p in queryset.order_by("id")[:SEARCH_MAX] for r in fhir.allergy_resources(p)]
    return [r for r in found if r["id"] == pk] if pk is not None else found


def _questionnaires(user, *, patient: int | None, pk: str | None) -> list[dict]:
    if pk is not None and pk != fhir.QUESTIONNAIRE_ID:
        return []
    return [fhir.questionnaire_resource()]


READERS: dict[str, Callable[..., list[dict]]] = {
    "Patient": _patients, "Procedure": _procedures, "QuestionnaireResponse": _responses,
    "Flag": _flags, "AllergyIntolerance": _allergies, "Questionnaire": _questionnaires,
}


def _patient_ids(resources: list[dict]) -> list[int]:
    ids = []
    for resource in resources:
        if resource["resourceType"] == "Patient":
            ids.append(int(resource["id"]))
        for field in ("subject", "patient"):
            reference = resource.get(field, {}).get("reference", "")
            if reference.startswith("Patient/"):
                ids.append(int(reference.removeprefix("Patient/")))
    return ids


class FhirView(APIView):
    renderer_classes = [FhirJSONRenderer]
    content_negotiation_class = FhirOnly
    # Not in the OpenAPI document: FHIR clients read the CapabilityStatement.
    schema = None

    def base_url(self, request: Request) -> str:
        return request.build_absolute_uri("/fhir/R4").rstrip("/")

    def handle_exception(self, exc):
        if isinstance(exc, FhirError):
            return Response(fhir.operation_outcome(code=exc.fhir_code, diagnostics=str(exc.detail)),
                            status=exc.status_code)
        if isinstance(exc, Http404):
            return Response(fhir.operation_outcome(code="not-found", diagnostics="Not found."),
                            status=404)
        response = super().handle_exception(exc)
        code = {401: "login", 403: "forbidden"}.get(response.status_code, "processing")
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = fhir.operation_outcome(code=code, diagnostics=str(detail) or code)
        return response

    def _audit(self, request: Request, resources: list[dict]) -> None:
        audit_api_read(actor=request.user, patient_ids=_patient_ids(resources),
                       target=f"FHIR GET {request.path}")


class MetadataView(FhirView):
    def get(self, request: Request) -> Response:
        return Response(fhir.capability_statement(base_url=self.base_url(request),
                                                  now=clock.database_now()))


class ReadView(FhirView):
    def get(self, request: Request, kind: str, pk: str) -> Response:
        reader = READERS.get(kind)
        if reader is None:
            raise FhirError(404, "not-supported", f"{kind} is not served here.")
        found = reader(request.user, patient=None, pk=pk)
        if not found:
            raise Http404
        self._audit(request, found)
        return Response(found[0])


class SearchView(FhirView):
    ALLOWED = {"patient", "_id", "_count", "_format"}

    def get(self, request: Request, kind: str) -> Response:
        reader = READERS.get(kind)
        if reader is None:
            raise FhirError(404, "not-supported", f"{kind} is not served here.")
        unknown = sorted(set(request.query_params) - self.ALLOWED)
        if unknown:
            raise FhirError(400, "not-supported",
                            f"{unknown[0]}: not a search parameter here (patient, _id, _count)")
        patient_value = request.query_params.get("patient")
        patient = _patient_param(patient_value) if patient_value is not None else None
        pk = request.query_params.get("_id")
        found = reader(request.user, patient=patient, pk=pk)
        count = request.query_params.get("_count")
        if count is not None:
            found = found[:min(_int(count, "_count"), SEARCH_MAX)]
        self._audit(request, found)
        return Response(fhir.bundle(kind="searchset", resources=found,
                                    base_url=self.base_url(request)))
