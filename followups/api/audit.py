"""API reads of follow-up data go into the audit trail, as the admin's do.

A clinic's data-protection officer asks who looked at whose answers, and
when, whichever door they came through: a GET of check-ins (with their
answers), sessions (with their check-ins), escalations (with the reasons
drawn from the answers) or patients writes one "viewed answers" event for
the request, naming it and every patient it returned (``patient_ids``; the
patient and the clinic too when there is one of each). One query for the
patients' clinics and one row, whatever the page's length: an integration
polling a list each minute writes half a million rows a year, not tens of
millions.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING

from followups.models import AuditEvent
from patients.models import Patient

if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView

    # What the mixin's super() calls reach: the viewset it is mixed into.
    _ViewSetBase = GenericAPIView
else:
    _ViewSetBase = object


def audit_api_read(*, actor, patient_ids, target: str) -> int:
    ids = sorted({pk for pk in patient_ids if pk is not None})
    if not ids or actor is None or not actor.is_authenticated:
        return 0
    clinic_of = dict(Patient.objects.filter(pk__in=ids).values_list("pk", "clinic_id"))
    ids = [pk for pk in ids if pk in clinic_of]
    if not ids:
        return 0
    clinics = set(clinic_of.values())
    AuditEvent.objects.create(
        actor=actor, action=AuditEvent.Action.VIEW_ANSWERS,
        patient_id=ids[0] if len(ids) == 1 else None,
        clinic_id=next(iter(clinics)) if len(clinics) == 1 else None,
        patient_ids=ids, target=target[:200])
    return len(ids)


class AuditedReadMixin(_ViewSetBase):
    """For a DRF viewset: audit each successful GET of its objects.

    ``audit_patient`` is the dotted path from an object to its patient's id.
    """

    audit_patient = "patient_id"

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            self._audited_objects = list(page)
        return page

    def get_object(self):
        obj = super().get_object()
        self._audited_objects = [obj]
        return obj

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        objects = getattr(self, "_audited_objects", None)
        if request.method == "GET" and 200 <= response.status_code < 300 and objects:
            patient_of = attrgetter(self.audit_patient)
            audit_api_read(actor=request.user, patient_ids=[patient_of(o) for o in objects],
                           target=f"API GET {request.path}")
        return response
