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


class CatalogueManagerOrReadOnly(permissions.BasePermission):
    """The shared product catalogue: every clinic's staff read it; its managers write it.

    Superusers and users with ``patients.manage_catalogue`` change it; anyone
    else's write is a 403 (clinical-reference: changed only by those allowed to).
    """

    message = "Only catalogue managers change the shared product catalogue."

    def has_permission(self, request, view) -> bool:
        from patients.services import catalogue_may_change

        return request.method in permissions.SAFE_METHODS or catalogue_may_change(request.user)


class IsClinicManager(permissions.BasePermission):
    """A clinic's managers (``ClinicMembership.is_manager``) and superusers.

    Which clinic is the view's to check (an object's, or the one written to);
    this only lets in those who manage at least one.
    """

    message = "Only a clinic manager or a superuser may do this."

    def has_permission(self, request, view) -> bool:
        from patients.selectors import user_managed_clinic_ids

        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        return user.is_superuser or bool(user_managed_clinic_ids(user))
