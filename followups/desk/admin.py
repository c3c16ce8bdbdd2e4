"""Admin for check-ins, answers, escalations (the flagged-patient queue), clusters and audit.

These rows change only through the services: the admin's actions and buttons
call ``followups.services`` / ``followups.escalations.services``, which lock the row,
check its status and write the audit trail. No change form ever saves one of
them directly (``ServiceWrittenAdminMixin``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince

from core.pagination import CappedCountAdminMixin, KeysFirstPaginator
from followups.audit import audit_record
from followups.delivery import clock
from followups.desk import views as admin_views
from followups.desk.calls import (
    CALL_ORDER,
    ContactForm,
    number_at_hand,
    with_call_order,
)
from followups.desk.display import (
    codes_in_words,
    desk_time,
    level_badge,
    patient_link,
    person,
    photo_url,
    reasons_list,
    safe_next_url,
    status_badge,
)
from followups.desk.filters import (
    AckDeadlineFilter,
    AlertFilter,
    AssessmentFilter,
    AssignedFilter,
    CommentFilter,
    DayFilter,
    DueFilter,
    EscalationDayFilter,
    EscalationStatusFilter,
    ProductFilter,
)
from followups.desk.phone_answers import (
    ANSWERABLE_BY_STAFF,
    PhoneAnswersForm,
    phone_answers_record,
)
from followups.escalations.clusters import cluster_signal_close
from followups.escalations.comments import comment_mark_read
from followups.escalations.contacts import contact_record, escalation_assign, staff_of_clinic
from followups.escalations.services import escalation_acknowledge, escalation_resolve
from followups.models import (
    RESOLUTION_NOTE_MAX_LENGTH,
    AuditEvent,
    CheckIn,
    CheckInResponse,
    ClusterSignal,
    ContactAttempt,
    Escalation,
)
from followups.services import checkin_resend
from patients.admin_scoping import (
    ClinicScopedAdminMixin,
    ScopedRelatedFieldListFilter,
    scope_to_clinics,
)
from patients.models import Patient

# Shared admin behaviour -------------------------------------------------------------

if TYPE_CHECKING:
    # What the mixin's super() calls reach: the ModelAdmin it is mixed into.
    _ModelAdminBase = admin.ModelAdmin
else:
    _ModelAdminBase = object


# What "Recent actions" says of the desk's own work (the note stays on the escalation).
ACKNOWLEDGED = "Acknowledged: being handled"
RESOLVED = "Resolved, with a note of what was done"
CLOSED = "Closed (investigated)"


class ServiceWrittenAdminMixin(_ModelAdminBase):
    """Rows written only by services: no add, no delete, no edit form.

    A POST to the change page is refused: saving the form would write the
    whole row back and could undo an acknowledgement made a moment earlier.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        if self.fieldsets:
            return flatten_fieldsets(self.fieldsets)
        if self.fields is None:
            # Every field is read-only, so each one must be named.
            raise TypeError(f"{type(self).__name__} must declare fields or fieldsets")
        return list(self.fields)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST":
            if object_id is not None:
                self.get_object(request, unquote(object_id))  # 404 outside the clinics
            raise PermissionDenied("Use the actions: these rows change only through them.")
        extra_context = {
            **(extra_context or {}),
            "show_save": False, "show_save_and_continue": False,
            "show_save_and_add_another": False, "show_delete": False,
        }
        return super().changeform_view(request, object_id, form_url, extra_context)


# Escalations: the flagged-patient queue ------------------------------------------------


class ResolveForm(forms.Form):
    note = forms.CharField(
        label="What was done",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70, "autofocus": True}),
        help_text="Required. For example: called the patient at 14:10, advised to see "
                  "their GP today, follow-up call booked for tomorrow.",
        max_length=RESOLUTION_NOTE_MAX_LENGTH,
        error_messages={"required": "Say what was done: a note is required."},
    )


@admin.register(Escalation)
class EscalationAdmin(ClinicScopedAdminMixin, CappedCountAdminMixin, ServiceWrittenAdminMixin,
                      admin.ModelAdmin):
    clinic_lookup = "clinic"  # denormalised: the planner starts from the clinic
    search_clinic_lookup = "patient__clinic"
    list_display = ("level_badge", "patient_column", "call_column", "checkin_day",
                    "reasons_column", "raised", "status_column", "assigned_column")
    list_display_links = ("level_badge",)
    list_filter = (
        EscalationStatusFilter, AssignedFilter, "level", "trigger", AckDeadlineFilter, AlertFilter,
        ("patient__clinic", ScopedRelatedFieldListFilter), EscalationDayFilter,
        ("session__practitioner", ScopedRelatedFieldListFilter), ProductFilter,
    )
    search_fields = ("patient__first_name", "patient__last_name", "patient__email")
    search_help_text = "Search by the patient's first name, last name or email."
    # A call-back that has come due first, then urgent, then the oldest: who
    # has waited longest for the clinic (get_ordering: the first is computed).
    list_select_related = ("patient", "checkin", "acknowledged_by", "assigned_to")
    list_per_page = 50
    # That order is computed: sort the keys, not whole rows.
    paginator = KeysFirstPaginator
    actions = ("acknowledge_selected", "resolve_selected")
    MAX_BULK_RESOLVE = 200
    show_facets = admin.ShowFacets.NEVER
    fieldsets = (
        (None, {"fields": ("level_badge", "status_column", "patient_column", "session_link",
                           "checkin_day", "trigger", "raised", "reasons_detail")}),
        ("Handling", {"fields": ("assigned_column", "acknowledged_column", "acknowledged_at",
                                 "resolved_by", "resolved_at", "resolution_note")}),
        ("Alert emails", {"fields": ("alert_sent_at", "renotified_at", "last_error"),
                          "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        # Not super()'s: ModelAdmin orders before the ordering's first key is annotated.
        queryset = with_call_order(Escalation.objects.all(), now=clock.database_now())
        return scope_to_clinics(queryset.order_by(*CALL_ORDER), request, self.clinic_lookup)

    def get_ordering(self, request):
        return CALL_ORDER

    # Columns

    @admin.display(description="Level", ordering="level_rank")
    def level_badge(self, obj):
        return level_badge(obj.level)

    @admin.display(description="Call")
    def call_column(self, obj):
        at_hand = number_at_hand(obj.patient, reached_at=getattr(obj, "patient_reached_at", None))
        due = ""
        if obj.next_attempt_at is not None and obj.status != Escalation.Status.RESOLVED:
            if getattr(obj, "callback_due", 0):
                due = format_html('<br><strong class="callback-due">Call back now</strong> '
                                  '(planned {})', desk_time(obj.next_attempt_at))
            else:
                due = format_html('<br><span class="meta">Call back at {}</span>',
                                  desk_time(obj.next_attempt_at))
        return format_html("{}{}", at_hand.html(), due)

    @admin.display(description="Assigned to", ordering="assigned_to__first_name")
    def assigned_column(self, obj):
        return person(obj.assigned_to)

    @admin.display(description="Patient", ordering="patient__last_name")
    def patient_column(self, obj):
        return patient_link(obj.patient)

    @admin.display(description="Check-in", ordering="checkin__day")
    def checkin_day(self, obj):
        return f"Day {obj.checkin.day}"

    @admin.display(description="Why")
    def reasons_column(self, obj):
        return reasons_list(obj.reasons)

    @admin.display(description="Reasons and their sources")
    def reasons_detail(self, obj):
        return reasons_list(obj.reasons, with_sources=True)

    @admin.display(description="Raised", ordering="created_at")
    def raised(self, obj):
        return format_html('<time datetime="{}" title="{}">{} ago</time>',
                           obj.created_at.isoformat(), desk_time(obj.created_at),
                           timesince(obj.created_at))

    @admin.display(description="Status", ordering="status")
    def status_column(self, obj):
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="Acknowledged by", ordering="acknowledged_at")
    def acknowledged_column(self, obj):
        return person(obj.acknowledged_by)

    @admin.display(description="Session")
    def session_link(self, obj):
        url = reverse("admin:patients_treatmentsession_change", args=[obj.session_id])
        return format_html('<a href="{}">{}</a>', url, obj.session)

    # Actions

    @admin.action(description="Acknowledge selected: I am handling them", permissions=["change"])
    def acknowledge_selected(self, request, queryset):
        done = 0
        for escalation in queryset.filter(status=Escalation.Status.OPEN):
            try:
                escalation_acknowledge(escalation=escalation, actor=request.user)
            except ValidationError:
                continue  # someone else acknowledged it a moment ago
            self.log_change(request, escalation, ACKNOWLEDGED)
            done += 1
        self.message_user(request, f"Acknowledged {done} flag(s).", messages.SUCCESS)

    @admin.action(description="Resolve selected… (asks what was done)", permissions=["change"])
    def resolve_selected(self, request, queryset):
        escalations = list(
            queryset.exclude(status=Escalation.Status.RESOLVED)
            .select_related("patient", "checkin")[: self.MAX_BULK_RESOLVE + 1]
        )
        if not escalations:
            self.message_user(request, "Nothing to resolve among the selected rows.",
                              messages.WARNING)
            return None
        if len(escalations) > self.MAX_BULK_RESOLVE:
            # One note for hundreds of patients is not a record of what was done.
            self.message_user(request, f"Resolve at most {self.MAX_BULK_RESOLVE} at a time.",
                              messages.WARNING)
            return None
        form = ResolveForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_bound and form.is_valid():
            done = self._resolve_all(request, escalations, form.cleaned_data["note"])
            self.message_user(request, f"Resolved {done} flag(s).", messages.SUCCESS)
            return None
        return self._resolve_page(request, escalations, form, bulk=True)

    def _resolve_all(self, request, escalations, note: str) -> int:
        done = 0
        for escalation in escalations:
            try:
                escalation_resolve(escalation=escalation, actor=request.user, note=note)
            except ValidationError:
                continue  # resolved by someone else meanwhile
            self.log_change(request, escalation, RESOLVED)
            done += 1
        return done

    def _resolve_page(self, request, escalations, form, *, bulk: bool, next_url: str = ""):
        for escalation in escalations:
            escalation.badge = level_badge(escalation.level)
            escalation.reasons_html = reasons_list(escalation.reasons)
        context = {
            **self.admin_site.each_context(request),
            "title": "Resolve: say what was done",
            "opts": self.opts,
            "escalations": escalations,
            "form": form,
            "bulk": bulk,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "next_url": next_url,
        }
        return TemplateResponse(request, "admin/followups/escalation/resolve.html", context)

    # One escalation at a time: buttons on its page and on the patient's page

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/acknowledge/", view(self.acknowledge_view),
                 name="{}_{}_acknowledge".format(*info)),
            path("<path:object_id>/resolve/", view(self.resolve_view),
                 name="{}_{}_resolve".format(*info)),
            path("<path:object_id>/contact/", view(self.contact_view),
                 name="{}_{}_contact".format(*info)),
            path("<path:object_id>/assign/", view(self.assign_view),
                 name="{}_{}_assign".format(*info)),
            *super().get_urls(),
        ]

    def _change_url(self, escalation) -> str:
        return reverse("admin:followups_escalation_change", args=[escalation.pk])

    def acknowledge_view(self, request, object_id):
        escalation = self.get_object(request, unquote(object_id))
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request, escalation):
            raise PermissionDenied
        try:
            escalation_acknowledge(escalation=escalation, actor=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.WARNING)
        else:
            self.log_change(request, escalation, ACKNOWLEDGED)
            self.message_user(request, f"Acknowledged: {escalation.patient} is being looked "
                                       "after. Resolve it once you have acted.", messages.SUCCESS)
        return HttpResponseRedirect(safe_next_url(request, self._change_url(escalation)))

    def resolve_view(self, request, object_id):
        escalation = self.get_object(request, unquote(object_id))
        if not self.has_change_permission(request, escalation):
            raise PermissionDenied
        next_url = safe_next_url(request, self._change_url(escalation))
        if escalation.status == Escalation.Status.RESOLVED:
            self.message_user(request, "This escalation is already resolved.", messages.INFO)
            return HttpResponseRedirect(next_url)
        form = ResolveForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            try:
                escalation_resolve(escalation=escalation, actor=request.user,
                                   note=form.cleaned_data["note"])
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.WARNING)
            else:
                self.log_change(request, escalation, RESOLVED)
                self.message_user(request, f"Resolved: {escalation.patient}.", messages.SUCCESS)
            return HttpResponseRedirect(next_url)
        return self._resolve_page(request, [escalation], form, bulk=False, next_url=next_url)

    def _handled_object(self, request, object_id):
        escalation = self.get_object(request, unquote(object_id))
        if escalation is None:
            raise Http404
        if request.method != "POST":
            raise PermissionDenied("Only by the page's buttons.")
        if not self.has_change_permission(request, escalation):
            raise PermissionDenied
        return escalation

    def contact_view(self, request, object_id):
        """The escalation page's call form: one button per outcome."""
        escalation = self._handled_object(request, object_id)
        next_url = safe_next_url(request, self._change_url(escalation))
        form = ContactForm(request.POST)
        if not form.is_valid():
            for field, errors in form.errors.items():
                said = " ".join(map(str, errors))
                self.message_user(request, f"{field.replace('_', ' ')}: {said}", messages.ERROR)
            return HttpResponseRedirect(next_url)
        now = clock.database_now()
        try:
            contact = contact_record(escalation=escalation, actor=request.user,
                                     outcome=form.cleaned_data["outcome"],
                                     note=form.cleaned_data["note"],
                                     next_attempt_at=form.next_attempt_at(now=now), now=now)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(next_url)
        self.log_change(request, escalation, f"Call recorded: {contact.get_outcome_display()}")
        again = (f" Call back at {desk_time(contact.next_attempt_at)}."
                 if contact.next_attempt_at else "")
        self.message_user(request, f"Call recorded: {contact.get_outcome_display().lower()}."
                                   f"{again}", messages.SUCCESS)
        return HttpResponseRedirect(next_url)

    def assign_view(self, request, object_id):
        escalation = self._handled_object(request, object_id)
        next_url = safe_next_url(request, self._change_url(escalation))
        value = request.POST.get("user", "")
        user = None
        if value == "me":
            user = request.user
        elif value:
            user = staff_of_clinic(escalation.patient.clinic_id).filter(
                pk=value if value.isdigit() else 0).first()
            if user is None:
                self.message_user(request, "Assign to a staff member of this clinic.",
                                  messages.ERROR)
                return HttpResponseRedirect(next_url)
        try:
            escalation_assign(escalation=escalation, actor=request.user, user=user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(request, f"Assigned to {person(user)}." if user else "Unassigned.",
                              messages.SUCCESS)
        return HttpResponseRedirect(next_url)

    def changelist_view(self, request, extra_context=None):
        extra_context = {"title": "Flagged patients: call-backs due, urgent, "
                                  "then the longest waiting",
                         **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        escalation = self.get_object(request, unquote(object_id))
        extra_context = {**(extra_context or {}), "escalation": escalation,
                         "can_handle": self.has_change_permission(request, escalation)}
        if escalation is not None:
            extra_context.update(
                at_hand=number_at_hand(escalation.patient,
                                       reached_at=escalation.patient_reached_at),
                reasons=reasons_list(escalation.reasons),
                contact_form=ContactForm(),
                outcomes=ContactAttempt.Outcome.choices,
                contacts=list(escalation.contacts.select_related("by")),
                staff=list(staff_of_clinic(escalation.patient.clinic_id)),
            )
        return super().change_view(request, object_id, form_url, extra_context)


# Check-ins -----------------------------------------------------------------------------


@admin.register(CheckIn)
class CheckInAdmin(ClinicScopedAdminMixin, CappedCountAdminMixin, ServiceWrittenAdminMixin,
                   admin.ModelAdmin):
    clinic_lookup = "clinic"  # denormalised: the planner starts from the clinic
    search_clinic_lookup = "session__patient__clinic"
    list_display = ("__str__", "patient_column", "day", "status_column", "due_at", "sent_at",
                    "completed_at", "attempts", "last_error_column")
    list_filter = (
        "status", DayFilter, DueFilter,
        ("session__patient__clinic", ScopedRelatedFieldListFilter),
        ("session__practitioner", ScopedRelatedFieldListFilter),
    )
    search_fields = ("session__patient__first_name", "session__patient__last_name",
                     "session__patient__email")
    search_help_text = "Search by the patient's first name, last name or email."
    ordering = ("-due_at", "-id")
    list_select_related = ("session__patient",)
    actions = ("resend_selected",)
    show_facets = admin.ShowFacets.NEVER
    fields = ("patient_column", "session", "day", "status_column", "due_at", "sent_at",
              "reminder_sent_at", "expires_at", "completed_at", "send_generation", "attempts",
              "last_error", "answers_link")

    @admin.display(description="Patient", ordering="session__patient__last_name")
    def patient_column(self, obj):
        return patient_link(obj.session.patient)

    @admin.display(description="Status", ordering="status")
    def status_column(self, obj):
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="Last error")
    def last_error_column(self, obj):
        return obj.last_error or ""

    @admin.display(description="Answers")
    def answers_link(self, obj):
        response = getattr(obj, "response", None)
        if response is None:
            return "Not answered"
        url = reverse("admin:followups_checkinresponse_change", args=[response.pk])
        return format_html('<a href="{}">Answers given {}</a>', url,
                           desk_time(response.submitted_at))

    def _resend(self, request, checkins) -> tuple[int, list[str]]:
        done, refused = 0, []
        for checkin in checkins:
            try:
                checkin_resend(checkin=checkin, actor=request.user)
            except ValidationError as error:
                refused.append(f"{checkin}: {' '.join(error.messages)}")
                continue
            done += 1
        return done, refused

    @admin.action(description="Resend the email (new link; the old one stops working)",
                  permissions=["change"])
    def resend_selected(self, request, queryset):
        done, refused = self._resend(request, queryset.select_related("session__patient"))
        if done:
            self.message_user(request, f"Resending {done} check-in email(s) with a new link.",
                              messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/resend/", self.admin_site.admin_view(self.resend_view),
                 name="{}_{}_resend".format(*info)),
            path("<path:object_id>/answers/", self.admin_site.admin_view(self.answers_view),
                 name="{}_{}_answers".format(*info)),
            *super().get_urls(),
        ]

    def answers_view(self, request, object_id):
        """Answers taken by phone, through the service the API uses; then their assessment."""
        checkin = self.get_object(request, unquote(object_id))
        if checkin is None:
            raise Http404
        if not self.has_change_permission(request, checkin):
            raise PermissionDenied
        form = PhoneAnswersForm(request.POST if request.method == "POST" else None)
        if request.method == "POST":
            stored = phone_answers_record(form=form, checkin=checkin, actor=request.user)
            if stored is not None:
                self.message_user(request, f"Answers recorded: assessed "
                                           f"{stored.assessment_level.upper()}.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:followups_checkinresponse_change", args=[stored.pk]))
        patient = checkin.session.patient
        context = {
            **self.admin_site.each_context(request),
            "title": f"Answers taken by phone: {patient}",
            "opts": self.opts, "checkin": checkin, "form": form,
            "at_hand": number_at_hand(patient, reached_at=None),
        }
        return TemplateResponse(request, "admin/followups/checkin/phone_answers.html", context)

    def resend_view(self, request, object_id):
        checkin = self.get_object(request, unquote(object_id))
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request, checkin):
            raise PermissionDenied
        done, refused = self._resend(request, [checkin])
        if done:
            self.message_user(request, f"Resending {checkin} with a new link.", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)
        default = reverse("admin:followups_checkin_change", args=[checkin.pk])
        return HttpResponseRedirect(safe_next_url(request, default))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        checkin = self.get_object(request, unquote(object_id))
        extra_context = {
            **(extra_context or {}),
            "checkin": checkin,
            "can_resend": self.has_change_permission(request, checkin)
            and checkin.status not in (CheckIn.Status.COMPLETED, CheckIn.Status.CANCELLED),
            "can_answer": checkin is not None and self.has_change_permission(request, checkin)
            and checkin.status in ANSWERABLE_BY_STAFF,
        }
        return super().change_view(request, object_id, form_url, extra_context)


# Answers ---------------------------------------------------------------------------------


@admin.register(CheckInResponse)
class CheckInResponseAdmin(ClinicScopedAdminMixin, CappedCountAdminMixin, ServiceWrittenAdminMixin,
                           admin.ModelAdmin):
    clinic_lookup = "clinic"  # denormalised: the planner starts from the clinic
    search_clinic_lookup = "checkin__session__patient__clinic"
    list_display = ("__str__", "patient_column", "checkin_day", "submitted_at",
                    "assessment_column", "comment_column", "channel", "photo_column")
    list_filter = (AssessmentFilter, CommentFilter, "channel", EscalationDayFilter,
                   ("checkin__session__patient__clinic", ScopedRelatedFieldListFilter))
    actions = ("mark_comments_read",)
    search_fields = ("checkin__session__patient__first_name",
                     "checkin__session__patient__last_name", "checkin__session__patient__email")
    search_help_text = "Search by the patient's first name, last name or email."
    ordering = ("-submitted_at", "-id")
    list_select_related = ("checkin__session__patient",)
    show_facets = admin.ShowFacets.NEVER
    fieldsets = (
        (None, {"fields": ("patient_column", "checkin", "submitted_at", "channel",
                           "entered_by", "assessment_column", "assessment_reasons_column")}),
        ("Answers", {"fields": (*CheckInResponse.SEVERITY_FIELDS, *CheckInResponse.TREND_FIELDS,
                                *CheckInResponse.YES_NO_FIELDS, "comments", "photo_column")}),
    )

    @admin.display(description="Patient", ordering="checkin__session__patient__last_name")
    def patient_column(self, obj):
        return patient_link(obj.checkin.session.patient)

    @admin.display(description="Check-in", ordering="checkin__day")
    def checkin_day(self, obj):
        return f"Day {obj.checkin.day}"

    @admin.display(description="Assessment", ordering="assessment_level")
    def assessment_column(self, obj):
        return level_badge(obj.assessment_level)

    @admin.display(description="Reasons")
    def assessment_reasons_column(self, obj):
        return reasons_list(obj.assessment_reasons, with_sources=True)

    @admin.display(description="Photo")
    def photo_column(self, obj):
        if not obj.photo:
            return "–"
        return format_html('<a href="{}" target="_blank" rel="noopener">View photo</a>',
                           photo_url(obj))

    @admin.display(description="Comment")
    def comment_column(self, obj):
        if not obj.comments:
            return "–"
        if obj.comment_waiting:
            return format_html('<strong>To read:</strong> “{}”', obj.comments)
        return format_html("“{}”", obj.comments)

    @admin.action(description="Mark the selected comments read", permissions=["view"])
    def mark_comments_read(self, request, queryset):
        marked = sum(comment_mark_read(response=response, actor=request.user)
                     for response in queryset.filter(comment_waiting=True)
                     .select_related("checkin__session__patient__clinic"))
        self.message_user(request, f"Marked {marked} comment(s) read.", messages.SUCCESS)
        next_url = request.POST.get("next", "")
        if next_url and url_has_allowed_host_and_scheme(
                next_url, allowed_hosts={request.get_host()},
                require_https=request.is_secure()):
            return HttpResponseRedirect(next_url)
        return None

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/photo/",
                 # cacheable: the view sets its own "private, no-store".
                 self.admin_site.admin_view(self.photo_view, cacheable=True),
                 name="{}_{}_photo".format(*info)),
            *super().get_urls(),
        ]

    def photo_view(self, request, object_id):
        return admin_views.photo_view(request, object_id, model_admin=self)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("checkin__session__patient__clinic")

    def add_view(self, request, form_url="", extra_context=None):
        """Answers are taken for a check-in: from its page ("Record answers taken by phone")."""
        self.message_user(request, "Answers taken by phone are recorded from their check-in: "
                                   "open it and choose \"Record answers taken by phone\".",
                          messages.INFO)
        return HttpResponseRedirect(reverse("admin:followups_checkin_changelist")
                                    + "?status__exact=sent")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            answers = self.get_object(request, unquote(object_id))
            audit_record(actor=request.user, action=AuditEvent.Action.VIEW_ANSWERS,
                         patient=answers.checkin.session.patient, target=str(answers))
        return response


# Cluster signals ---------------------------------------------------------------------------


@admin.register(ClusterSignal)
class ClusterSignalAdmin(ClinicScopedAdminMixin, ServiceWrittenAdminMixin, admin.ModelAdmin):
    clinic_lookup = "clinic"
    list_display = ("__str__", "kind", "subject", "patients_column", "reasons_column",
                    "status", "updated_at")
    list_filter = ("status", "kind", ("clinic", ScopedRelatedFieldListFilter))
    search_fields = ("lot_number", "product__name", "practitioner__username",
                     "practitioner__last_name")
    search_help_text = "Search by lot number, product or practitioner."
    ordering = ("-updated_at", "-id")
    actions = ("close_selected",)
    fields = ("clinic", "kind", "subject", "patients_column", "reasons_column", "status",
              "created_at", "updated_at", "closed_by", "closed_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(
            "clinic", "product", "practitioner", "closed_by"
        ).prefetch_related(Prefetch("patients", queryset=Patient.objects.only(
            "pk", "first_name", "last_name", "clinic_id")))

    @admin.display(description="Lot or practitioner")
    def subject(self, obj):
        if obj.kind == ClusterSignal.Kind.PRODUCT_LOT:
            return f"{obj.product} — lot {obj.lot_number}"
        return f"Practitioner: {person(obj.practitioner)}"

    @admin.display(description="Patients")
    def patients_column(self, obj):
        return format_html_join(", ", "{}", ((patient_link(p),) for p in obj.patients.all()))

    @admin.display(description="Reasons")
    def reasons_column(self, obj):
        return codes_in_words(obj.reason_codes)

    @admin.action(description="Close selected signals (investigated)", permissions=["change"])
    def close_selected(self, request, queryset):
        done = 0
        for signal in queryset.filter(status=ClusterSignal.Status.OPEN):
            cluster_signal_close(signal=signal, actor=request.user)
            self.log_change(request, signal, CLOSED)
            done += 1
        self.message_user(request, f"Closed {done} signal(s).", messages.SUCCESS)

    # One signal from its own page: the "Close" button posts here.

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/close/", self.admin_site.admin_view(self.close_view),
                 name="{}_{}_close".format(*info)),
            *super().get_urls(),
        ]

    def close_view(self, request, object_id):
        signal = self.get_object(request, unquote(object_id))
        if signal is None:
            raise Http404
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request, signal):
            raise PermissionDenied
        if signal.status == ClusterSignal.Status.OPEN:
            cluster_signal_close(signal=signal, actor=request.user)
            self.log_change(request, signal, CLOSED)
            self.message_user(request, f"Closed: {signal}.", messages.SUCCESS)
        else:
            self.message_user(request, "This signal is already closed.", messages.INFO)
        return HttpResponseRedirect(reverse("admin:followups_clustersignal_change",
                                            args=[signal.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        signal = self.get_object(request, unquote(object_id))
        extra_context = {
            **(extra_context or {}),
            "signal": signal,
            "can_close": (signal is not None and signal.status == ClusterSignal.Status.OPEN
                          and self.has_change_permission(request, signal)),
        }
        return super().change_view(request, object_id, form_url, extra_context)


# The audit trail ----------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ClinicScopedAdminMixin, CappedCountAdminMixin, admin.ModelAdmin):
    """Superusers read it; nobody adds, changes or deletes it from here."""

    clinic_lookup = "clinic"
    list_display = ("at", "actor", "action", "clinic", "patient", "target")
    list_filter = ("action", ("clinic", ScopedRelatedFieldListFilter))
    search_fields = ("actor__username", "target", "patient__last_name", "patient__email")
    list_select_related = ("actor", "clinic", "patient")
    ordering = ("-at", "-id")
    fields = ("at", "actor", "action", "clinic", "patient", "target")
    readonly_fields = fields
    show_facets = admin.ShowFacets.NEVER

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
