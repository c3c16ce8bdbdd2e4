"""API plumbing shared by every app: who may call it, and how errors look."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, permissions
from rest_framework.serializers import as_serializer_error

from patients.selectors import user_clinic_ids


class IsClinicStaff(permissions.BasePermission):
    """Signed-in users who belong to at least one clinic, and superusers."""

    message = "You must belong to a clinic to use this API."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        return user.is_superuser or bool(user_clinic_ids(user))


def exception_handler(exc, context):
    # A model/service ValidationError is the caller's mistake: a 400 that
    # names the field, never a 500.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    return drf_exception_handler(exc, context)
