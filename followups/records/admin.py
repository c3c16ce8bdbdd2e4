"""The admin's delete of a patient is their erasure: irreversible, said so, the name typed back.

Django's own delete would cascade (and the follow-up data's PROTECT keys
refuse it), leaving photo files in the storage; here "Delete" opens a page
that says what erasure removes and keeps, and asks for a reason and the
patient's full name typed back before ``patient_erase`` runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from followups.records.erasure import patient_erase
from followups.records.models import ERASURE_REASON_MAX_LENGTH, PatientErasure
from patients.selectors import user_clinic_ids, user_managed_clinic_ids

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    # What the mixin's super() calls reach: the patients' ModelAdmin.
    _ModelAdminBase = ModelAdmin
else:
    _ModelAdminBase = object


class ErasureForm(forms.Form):
    reason = forms.CharField(max_length=ERASURE_REASON_MAX_LENGTH,
                             help_text="Why: e.g. the patient asked us to delete their data.")
    typed_name = forms.CharField(label="The patient's full name, typed back", max_length=201)

    def __init__(self, *args, expected_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.expected_name = expected_name

    def clean_typed_name(self) -> str:
        typed = " ".join(self.cleaned_data["typed_name"].split())
        if typed.casefold() != " ".join(self.expected_name.split()).casefold():
            raise ValidationError("This is not the patient's name: nothing was erased.")
        return typed


class PatientErasureAdminMixin(_ModelAdminBase):
    """For the patients' admin: delete means erase, for a manager of the clinic or a superuser."""

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            # The lists' question (no bulk delete is offered): whether is asked per patient.
            return request.user.is_active and (request.user.is_superuser
                                               or bool(user_clinic_ids(request.user)))
        return obj.clinic_id in user_managed_clinic_ids(request.user) and not (
            PatientErasure.objects.filter(patient=obj).exists())

    def get_actions(self, request):
        actions = super().get_actions(request)
        # No bulk delete: each erasure is confirmed by its own name.
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        patient = self.get_object(request, unquote(object_id))
        if patient is None:
            from django.http import Http404

            raise Http404
        if not self.has_delete_permission(request, patient):
            raise PermissionDenied
        form = ErasureForm(request.POST or None, expected_name=str(patient))
        if request.method == "POST" and form.is_valid():
            try:
                erasure = patient_erase(patient=patient, actor=request.user,
                                        reason=form.cleaned_data["reason"])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Patient #{patient.pk} was erased; "
                                          f"{erasure.photos_deleted} photo(s) deleted.")
                return redirect(reverse("admin:patients_patient_changelist"))
        return TemplateResponse(request, "admin/patients/patient/erase.html", {
            **self.admin_site.each_context(request),
            "title": "Erase this patient's record",
            "patient": patient, "form": form, "opts": self.model._meta,
            **(extra_context or {}),
        })
