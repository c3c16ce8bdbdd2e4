"""Admin for patients and their sessions: the patient's page and the session form.

Writes go through the services like every other way in: a session saved here
gets its check-ins scheduled and its products stored in the same transaction
as the API's; a patient is cleaned by the same function.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ORDER_VAR, SEARCH_VAR
from django.contrib.admin.widgets import AdminSplitDateTime
from django.db.models import Prefetch
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from core.pagination import CappedCountAdminMixin
from followups.assessment.ingredients import allergy_refusal
from followups.audit import audit_record
from followups.consent.selectors import calls_instead_open
from followups.consent.services import How, patient_opt_in, patient_opt_out
from followups.desk.clinics import IngredientListField
from followups.desk.display import (
    desk_time,
    level_badge,
    patient_link,
    person,
)
from followups.desk.patient_filters import CancelledFilter, OpenLevelFilter, SessionProductFilter
from followups.desk.patient_page import patient_page
from followups.models import AuditEvent, CheckIn, Escalation
from followups.records.admin import PatientErasureAdminMixin
from followups.selectors import (
    allergies_unchecked,
    planned_allergy_warnings,
    session_allergy_warnings,
    with_open_escalation_level,
)
from followups.sessions import (
    session_cancel,
    session_create,
    session_update,
)
from patients.admin_scoping import (
    ClinicScopedAdminMixin,
    NetworkAutocompleteMixin,
    ScopedChoicesMixin,
    ScopedRelatedFieldListFilter,
)
from patients.models import (
    Clinic,
    Patient,
    ProductApplication,
    TreatmentSession,
)
from patients.services import (
    PATIENT_FIELDS,
    SESSION_FIELDS,
    patient_create,
    patient_update,
)

# Patients ---------------------------------------------------------------------------------


class LabelledSplitDateTime(AdminSplitDateTime):
    """The admin's date and time inputs, each with its own accessible name."""

    def __init__(self, *, label: str, attrs=None):
        super().__init__(attrs)
        date, time = self.widgets
        date.attrs["aria-label"] = f"{label}: date (YYYY-MM-DD)"
        time.attrs["aria-label"] = f"{label}: time (HH:MM:SS)"


class PatientForm(forms.ModelForm):
    known_allergies = IngredientListField(
        label="Known allergies or sensitivities", required=False,
        help_text="Ingredient names, separated by commas, e.g. lidocaine, prilocaine. "
                  "Sessions warn when a product contains one of them.",
    )

    class Meta:
        model = Patient
        fields = PATIENT_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("language", "contact_by"):
            if name in self.fields:
                self.fields[name].required = False

    def clean_known_allergies(self):
        # The one check of followups.assessment.ingredients, as in the API. A
        # patient recorded before it meets it at their next save.
        names = self.cleaned_data.get("known_allergies") or []
        refusal = allergy_refusal(names)
        if refusal:
            raise forms.ValidationError(refusal)
        return names

    def clean_contact_by(self):
        # Left out: a patient keeps theirs; a new one gets the clinic's (patient_create).
        return self.cleaned_data.get("contact_by") or (
            self.instance.contact_by if self.instance.pk else "")

    def clean_language(self):
        # Left out: a patient keeps theirs; a new one gets the clinic's (patient_create).
        return self.cleaned_data.get("language") or (
            self.instance.language if self.instance.pk else "")


class SessionInline(ScopedChoicesMixin, admin.TabularInline):
    """Read-only here: sessions are recorded on their own page, through the service."""

    model = TreatmentSession
    fields = ("performed_at", "treatment_area", "practitioner", "needle_depth_mm",
              "cancelled_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("practitioner")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Patient)
class PatientAdmin(PatientErasureAdminMixin, ClinicScopedAdminMixin, CappedCountAdminMixin,
                   NetworkAutocompleteMixin, admin.ModelAdmin):
    clinic_lookup = "clinic"
    network_autocomplete_fields = ("clinic",)
    form = PatientForm
    list_display = ("name", "open_level", "clinic", "language", "email", "phone", "created_at")
    list_display_links = ("name",)
    list_filter = (OpenLevelFilter, ("clinic", ScopedRelatedFieldListFilter), "acne_prone")
    search_fields = ("first_name", "last_name", "email")
    search_help_text = "Search by first name, last name or email."
    list_select_related = ("clinic",)
    inlines = (SessionInline,)
    show_facets = admin.ShowFacets.NEVER
    # A patient who asks, by phone or at the desk, to be messaged again (or not):
    # recorded as done by staff, in the audit trail with who.
    actions = ("email_opt_in", "sms_opt_in", "email_opt_out", "sms_opt_out")

    def get_queryset(self, request):
        return with_open_escalation_level(super().get_queryset(request))

    def get_ordering(self, request):
        """A search lists the newest patients first, unless a column is clicked.

        The patient a nurse looks for is most often a recent one, and the
        newest rows are where the primary key's index starts: a surname shared
        by one patient in twenty fills a page from the first few thousand rows,
        in a clinic or in a network of a million patients. In the name order a
        page of Martins starts after every name before M: 40,000 rows read at
        100 clinics, 400,000 at 1,000.
        """
        if request.GET.get(SEARCH_VAR) and ORDER_VAR not in request.GET:
            return ("-pk",)
        return super().get_ordering(request)

    def _consent(self, request, queryset, *, channel: str, opt_out: bool) -> None:
        change = patient_opt_out if opt_out else patient_opt_in
        changed = sum(change(patient=patient, channel=channel, how=How.STAFF,
                             actor=request.user) for patient in queryset)
        self.message_user(request, f"{changed} patient(s) changed.", messages.SUCCESS)

    @admin.action(description="Email them again (the patient asked)",
                  permissions=["change"])
    def email_opt_in(self, request, queryset):
        self._consent(request, queryset, channel="email", opt_out=False)

    @admin.action(description="Text them again (the patient asked)", permissions=["change"])
    def sms_opt_in(self, request, queryset):
        self._consent(request, queryset, channel="sms", opt_out=False)

    @admin.action(description="Stop emailing them (the patient asked)",
                  permissions=["change"])
    def email_opt_out(self, request, queryset):
        self._consent(request, queryset, channel="email", opt_out=True)

    @admin.action(description="Stop texting them (the patient asked)", permissions=["change"])
    def sms_opt_out(self, request, queryset):
        self._consent(request, queryset, channel="sms", opt_out=True)

    def get_inlines(self, request, obj):
        # A new patient has no sessions: no empty table on the add page.
        return self.inlines if obj is not None else ()

    def get_changeform_initial_data(self, request):
        """A member of one clinic adds patients to it, in its language, without choosing."""
        from patients.selectors import user_clinic_ids

        # Initial values need not be strings (a pk here), whatever the stubs say.
        initial: dict[str, Any] = super().get_changeform_initial_data(request)
        if "clinic" not in initial:
            clinics = list(Clinic.objects.filter(pk__in=user_clinic_ids(request.user))[:2])
            if len(clinics) == 1:
                initial["clinic"] = clinics[0].pk
                initial.setdefault("language", clinics[0].default_language)
        return initial

    @admin.display(description="Name", ordering="last_name")
    def name(self, obj):
        return str(obj)

    @admin.display(description="Open escalation", ordering="open_escalation_rank")
    def open_level(self, obj):
        return level_badge(obj.open_escalation_level)

    def save_model(self, request, obj, form, change):
        data = {key: form.cleaned_data[key] for key in PATIENT_FIELDS if key in form.cleaned_data}
        if change:
            patient_update(actor=request.user, patient=obj, data=data)
        else:
            patient_create(actor=request.user, data=data, instance=obj)

    def response_add(self, request, obj, post_url_continue=None):
        """A new patient is followed after a session: offer it rather than the list."""
        if "_addanother" in request.POST or "_continue" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        session_url = reverse("admin:patients_treatmentsession_add") + f"?patient={obj.pk}"
        if "_addsession" in request.POST:
            self.message_user(request, f"Added {obj}. Now record their session.",
                              messages.SUCCESS)
            return HttpResponseRedirect(session_url)
        self.message_user(request, format_html(
            'Added {}. <a href="{}">Record their session</a> to start the check-ins.',
            obj, session_url), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:patients_patient_change", args=[obj.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        patient = self.get_object(request, unquote(object_id))  # 404 outside the clinics
        page = patient_page(
            patient=patient,
            can_resend=self.admin_site._registry[CheckIn].has_change_permission(request),
        )
        extra_context = {
            **(extra_context or {}),
            "title": "Patient: follow-up and details",
            "patient": patient,
            "timeline": page.timeline,
            "open_escalations": page.open_escalations,
            "watching": page.watching,
            "comments_to_read": page.comments_to_read,
            "can_handle_escalations":
                self.admin_site._registry[Escalation].has_change_permission(request),
            "add_session_url": page.add_session_url,
            "at_hand": page.at_hand,
            "events": page.events,
            "calls_instead": list(calls_instead_open(patient=patient)) if patient else [],
        }
        unchecked = allergies_unchecked(patient) if patient is not None else []
        if request.method == "GET" and unchecked:
            self.message_user(request, f"{_unchecked_note(unchecked)} Edit the known allergies "
                              "below.", messages.WARNING)
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200 and page.has_answers:
            audit_record(actor=request.user, action=AuditEvent.Action.VIEW_ANSWERS,
                         patient=patient, target=f"Patient page of {patient}")
        return response


def _unchecked_note(names: list[str]) -> str:
    """Allergies recorded before vague names were refused: staff are told they are not checked."""
    quoted = ", ".join(f"'{name}'" for name in names)
    return (f"Not checked against any product: {quoted} (no substance named). Ask the patient "
            "for the ingredient's name or the product's brand.")


# Sessions ---------------------------------------------------------------------------------


# The session form's "Check allergies" button: a plain submit, so it works
# without JavaScript; the page comes back with the warnings and nothing saved.
CHECK_ALLERGIES = "_check_allergies"
ALLERGY_CHECK = "Allergy check (nothing saved)"


class AllergyCheckFormSet(forms.BaseInlineFormSet):
    """The products inline; with "Check allergies" pressed, the warnings instead of a save."""

    def clean(self):
        super().clean()
        if CHECK_ALLERGIES not in self.data:
            return
        patient = getattr(self.instance, "patient", None) if self.instance.patient_id else None
        if patient is None:
            raise forms.ValidationError("Allergy check (nothing saved): choose the patient first.")
        products = [form.cleaned_data for form in self.forms
                    if getattr(form, "cleaned_data", None) and form.cleaned_data.get("product")
                    and not form.cleaned_data.get(DELETION_FIELD_NAME)]
        warnings = planned_allergy_warnings(patient=patient, products=products)
        unchecked = allergies_unchecked(patient)
        notes = ([f"Allergy check (nothing saved): {_unchecked_note(unchecked)}"]
                 if unchecked else [])
        if warnings:
            raise forms.ValidationError([f"Allergy check (nothing saved): {warning['message']}"
                                         for warning in warnings] + notes)
        known = ", ".join(patient.known_allergies or []) or "none recorded"
        raise forms.ValidationError([
            "Allergy check (nothing saved): no product chosen contains a known allergen "
            f"(patient's allergies: {known}). Press Save to record the session.", *notes])


class ProductApplicationInline(ScopedChoicesMixin, admin.TabularInline):
    model = ProductApplication
    formset = AllergyCheckFormSet
    fields = ("product", "phase", "lot_number")
    verbose_name = "product applied"
    verbose_name_plural = "Products applied (with lot numbers)"

    def get_extra(self, request, obj=None, **kwargs):
        return 2 if obj is None else 1

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.name in self.fields:
            # Each row's controls are named: a table header alone is no label.
            inner = getattr(field.widget, "widget", None)  # a related-field wrapper's own
            widget = inner if inner is not None else field.widget
            widget.attrs["aria-label"] = f"Product applied: {db_field.verbose_name}"
        return field

    def get_formset(self, request, obj=None, **kwargs):
        # A class built at run time (inlineformset_factory), so a base mypy takes as Any.
        formset: Any = super().get_formset(request, obj, **kwargs)

        class LabelledDelete(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                if "DELETE" in form.fields:
                    form.fields["DELETE"].widget.attrs["aria-label"] = "Remove this product"

        return LabelledDelete

    def _session_open(self, obj) -> bool:
        return obj is None or not obj.is_cancelled

    def has_add_permission(self, request, obj=None):
        return self._session_open(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._session_open(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Removing a product line is a change to the session (session_update
        # replaces the list), not the deletion of a clinical record: it needs
        # the right to change sessions, not a delete permission.
        return self._session_open(obj) and request.user.has_perm(
            "patients.change_treatmentsession"
        )


@admin.register(TreatmentSession)
class TreatmentSessionAdmin(ClinicScopedAdminMixin, CappedCountAdminMixin,
                            NetworkAutocompleteMixin, admin.ModelAdmin):
    clinic_lookup = "patient__clinic"
    network_autocomplete_fields = ("practitioner",)
    list_display = ("__str__", "patient_column", "performed_at", "practitioner_column",
                    "treatment_area", "products_column", "allergy_column", "state_column")
    list_filter = (CancelledFilter, ("patient__clinic", ScopedRelatedFieldListFilter),
                   ("practitioner", ScopedRelatedFieldListFilter), SessionProductFilter)
    search_fields = ("patient__first_name", "patient__last_name", "patient__email",
                     "applications__lot_number")
    search_help_text = "Search by patient name or email, or by a product lot number."
    autocomplete_fields = ("patient",)
    inlines = (ProductApplicationInline,)
    actions = ("cancel_selected",)
    show_facets = admin.ShowFacets.NEVER
    fieldsets = (
        ("The session", {"fields": ("patient", "practitioner", "performed_at",
                                    "treatment_area", "device", "needle_depth_mm", "notes")}),
        ("Safety and follow-up", {"fields": ("allergy_warnings", "checkins_column",
                                             "cancelled_at")}),
    )


    def render_change_form(self, request, context, add=False, change=False, form_url="",
                           obj=None):
        """The allergy check's findings as a warning (or a note), never as a form error.

        The check keeps the page from saving by a formset error (so nothing is
        written and the form comes back as filled in); when that is the only
        "error", it is shown as what it is: red only for an allergen found.
        """
        if CHECK_ALLERGIES in request.POST:
            formsets = [inline.formset for inline in context.get("inline_admin_formsets", [])]
            found = [str(error) for formset in formsets for error in formset.non_form_errors()]
            only_the_check = (found and all(note.startswith(ALLERGY_CHECK) for note in found)
                              and not context["adminform"].form.errors
                              and not any(any(formset.errors) for formset in formsets))
            if only_the_check:
                for formset in formsets:
                    formset._non_form_errors = formset.error_class(error_class="nonform")
                context["errors"] = []
                for note in found:
                    level = (messages.WARNING if "matches the patient" in note
                             or "Not checked" in note else messages.INFO)
                    self.message_user(request, note, level)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.is_cancelled:
            return self.fieldsets
        # "Cancelled at: -" says nothing on a new or an active session.
        (name, options), (safety, follow_up) = self.fieldsets
        fields = tuple(f for f in follow_up["fields"] if f != "cancelled_at")
        return ((name, options), (safety, {**follow_up, "fields": fields}))

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "performed_at" and field is not None:
            # The date and the time inputs each say what they are.
            field.widget = LabelledSplitDateTime(label="Performed")
        return field

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(
            "patient", "practitioner"
        ).prefetch_related(
            Prefetch("applications",
                     queryset=ProductApplication.objects.select_related("product")),
        )

    def get_readonly_fields(self, request, obj=None):
        readonly = ["allergy_warnings", "checkins_column", "cancelled_at"]
        if obj is not None:
            readonly.append("patient")  # a session never moves to another patient
        return readonly

    def get_changeform_initial_data(self, request):
        return {"practitioner": request.user.pk, **super().get_changeform_initial_data(request)}

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_cancelled:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # cancel instead: answers and escalations hang off a session

    # Columns

    @admin.display(description="Patient", ordering="patient__last_name")
    def patient_column(self, obj):
        return patient_link(obj.patient)

    @admin.display(description="Practitioner", ordering="practitioner__username")
    def practitioner_column(self, obj):
        return person(obj.practitioner)

    @admin.display(description="Products (lot)")
    def products_column(self, obj):
        return format_html_join(
            mark_safe("<br>"), "{} ({}, lot {})",
            ((a.product.name, a.get_phase_display().lower(), a.lot_number)
             for a in obj.applications.all()),
        )

    @admin.display(description="Allergy warnings")
    def allergy_column(self, obj):
        warnings = session_allergy_warnings(obj)
        if not warnings:
            return "–"
        return format_html_join(
            mark_safe("<br>"),
            '<span class="allergy"><span aria-hidden="true">⚠</span> {}</span>',
            ((warning["message"],) for warning in warnings),
        )

    @admin.display(description="Allergy warnings")
    def allergy_warnings(self, obj):
        check = format_html(
            '<button type="submit" name="{}" value="1" class="button">Check allergies</button>'
            ' <span class="help">Choose the patient and the products below, then check: '
            "the warnings are shown before anything is saved.</span>", CHECK_ALLERGIES)
        if obj is None or obj.pk is None:
            return check
        warnings = session_allergy_warnings(obj)
        unchecked = allergies_unchecked(obj.patient)
        if not warnings:
            patient = obj.patient
            known = ", ".join(patient.known_allergies or []) or "none recorded"
            saved = f"No product contains a known allergen (patient's allergies: {known})."
        else:
            saved = self.allergy_column(obj)
        if unchecked:
            saved = format_html("{}<br>{}", saved, _unchecked_note(unchecked))
        # Changing the products: the same check before saving the change.
        return format_html("{}<br>{}", saved, check) if self._session_open(obj) else saved

    @staticmethod
    def _session_open(obj) -> bool:
        return not obj.is_cancelled

    @admin.display(description="Check-ins")
    def checkins_column(self, obj):
        if obj is None or obj.pk is None:
            return "Day-2 and day-7 check-ins are scheduled when the session is saved."
        rows = [
            (reverse("admin:followups_checkin_change", args=[c.pk]), c.day,
             c.get_status_display(), desk_time(c.due_at))
            for c in obj.checkins.order_by("day")
        ]
        return format_html_join(mark_safe("<br>"), '<a href="{}">Day {}</a>: {} (due {})',
                                rows) or "–"

    @admin.display(description="State")
    def state_column(self, obj):
        return "Cancelled" if obj.is_cancelled else "Active"

    # Saving through the service

    def save_model(self, request, obj, form, change):
        # Deferred to save_related: the service needs the products inline's
        # rows too, and stores session, products and check-ins in one go.
        pass

    def save_related(self, request, form, formsets, change):
        products_formset = next(fs for fs in formsets if fs.model is ProductApplication)
        products = self._products(products_formset)
        data = form.cleaned_data
        replaced = not change or products_formset.has_changed()
        if change:
            update = {key: data[key] for key in (*SESSION_FIELDS, "practitioner")
                      if key in data}
            if replaced:
                update["products"] = products
            saved = session_update(actor=request.user, session=form.instance, data=update)
            form.instance.refresh_from_db()
        else:
            saved = session_create(
                actor=request.user, patient=data["patient"], practitioner=data["practitioner"],
                performed_at=data["performed_at"], treatment_area=data["treatment_area"],
                needle_depth_mm=data["needle_depth_mm"], device=data.get("device", ""),
                notes=data.get("notes", ""), products=products, instance=form.instance,
            )
        stored = list(saved.applications.select_related("product"))
        for formset in formsets:
            # Read by construct_change_message; the service saved the rows.
            formset.new_objects = stored if formset is products_formset and replaced else []
            formset.changed_objects, formset.deleted_objects = [], []
        for warning in session_allergy_warnings(saved):
            self.message_user(request, f"Allergy warning: {warning['message']}", messages.WARNING)
        unchecked = allergies_unchecked(saved.patient)
        if unchecked:
            self.message_user(request, f"Allergy warning: {_unchecked_note(unchecked)}",
                              messages.WARNING)

    @staticmethod
    def _products(formset) -> list[dict]:
        products = []
        for form in formset.forms:
            cleaned = getattr(form, "cleaned_data", None)
            if not cleaned or cleaned.get(DELETION_FIELD_NAME):
                continue
            products.append({key: cleaned[key] for key in ("product", "phase", "lot_number")})
        return products

    @admin.action(description="Cancel selected sessions (stops their check-ins; answers "
                              "already given are kept)", permissions=["change"])
    def cancel_selected(self, request, queryset):
        done = 0
        for session in queryset.filter(cancelled_at__isnull=True):
            session_cancel(actor=request.user, session=session)
            done += 1
        self.message_user(request, f"Cancelled {done} session(s) and their open check-ins.",
                          messages.SUCCESS)
