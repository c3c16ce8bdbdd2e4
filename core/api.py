"""API plumbing shared by every app: how errors look, and how the schema documents them.

Who may call the API is the patients app's to say (``patients.permissions``):
it knows the clinics and their members. This module imports no app.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.serializers import as_serializer_error


def exception_handler(exc, context):
    # A model/service ValidationError is the caller's mistake: a 400 that
    # names the field, never a 500.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    return drf_exception_handler(exc, context)


ERROR_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# A refused body or query string: {"detail": ...} for a body that is not JSON,
# otherwise field or parameter name -> messages (nested for a session's products).
VALIDATION_ERRORS = {"type": "object", "additionalProperties": {}}


def document_error_responses(result, generator, request, public):
    """Spectacular post-processing hook: list the errors each operation returns.

    Clients (and the schemathesis run in tests/security) rely on the documented
    statuses, so every operation declares what DRF gives it: 401/403 for who may
    call it, 400 for a body or query string it refuses, 404 for an object outside
    the caller's clinics or a page past the end, and a body for any error a view
    declared without one (``409: None``).
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorDetail"] = ERROR_DETAIL
    schemas["ValidationErrors"] = VALIDATION_ERRORS
    detail = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}}
    invalid = {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationErrors"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            is_list = method == "get" and "{" not in path
            errors = {"401": ("Not signed in.", detail),
                      "403": ("Not allowed: no clinic membership, or no CSRF token.", detail)}
            if method in ("post", "put", "patch") or is_list:
                errors["400"] = ("Refused; the body names each bad field or parameter.", invalid)
            if "{" in path or is_list:
                errors["404"] = ("Not in your clinics, or no such page.", detail)
            for code, described in responses.items():
                if code >= "400" and "content" not in described:
                    errors.setdefault(code, ("The object's state forbids this.", detail))
            for code, (description, content) in errors.items():
                if "content" not in responses.get(code, {}):
                    kept = responses.get(code, {}).get("description", "")
                    if not kept or kept == "No response body":
                        kept = description
                    responses[code] = {"description": kept, "content": content}
            operation["responses"] = dict(sorted(responses.items()))
    return result
