"""Who may call the API: staff who belong to a clinic (settings' DEFAULT_PERMISSION_CLASSES)."""

from __future__ import annotations

from rest_framework import permissions

from patients.selectors import user_clinic_ids


class IsClinicStaff(permissions.BasePermission):
    """Signed-in users who belong to at least one clinic, and superusers."""

    message = "You must belong to a clinic to use this API."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        return user.is_superuser or bool(user_clinic_ids(user))
