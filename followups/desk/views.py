"""Admin pages that are not a model's change list or form: the photo, the CSV export.

Both reach rows only through the registered ModelAdmin's ``get_queryset`` and
``get_object``, so the clinic scoping of ``patients.admin_scoping`` applies:
another clinic's photo is a 404, an export never holds another clinic's rows.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

from django import forms
from django.contrib.admin import AdminSite
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View

from followups.audit import audit_exports, audit_record
from followups.desk import exports
from followups.models import AuditEvent, CheckInResponse, Escalation, Export
from patients.models import Clinic
from patients.selectors import clinics_for_user, user_clinic_ids

MAX_EXPORT_DAYS = 366
# The days an export may name: one day in from each end of the calendar.
EXPORT_FIRST_DAY = date.min + timedelta(days=1)
EXPORT_LAST_DAY = date.max - timedelta(days=1)

_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def _image_content_type(head: bytes) -> str:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for signature, content_type in _IMAGE_SIGNATURES:
        if head.startswith(signature):
            return content_type
    # Stored files are named .jpg whatever they hold; never let a browser guess.
    return "application/octet-stream"


def photo_view(request, object_id, *, model_admin):
    """Stream one answer's photo to staff of the patient's clinic, and log that they saw it."""
    response = model_admin.get_object(request, unquote(object_id))  # 404 outside the clinics
    if not model_admin.has_view_permission(request, response):
        raise PermissionDenied
    if not response.photo:
        raise Http404("No photo with these answers.")
    patient = response.checkin.session.patient
    try:
        handle = response.photo.open("rb")
    except FileNotFoundError:
        raise Http404("The photo file is missing.") from None
    head = handle.read(12)
    handle.seek(0)
    audit_record(actor=request.user, action=AuditEvent.Action.VIEW_PHOTO, patient=patient,
                 target=f"Photo, day-{response.checkin.day} answers #{response.pk}")
    streamed = FileResponse(handle, content_type=_image_content_type(head))
    # Health data: never kept by the browser's cache or a shared proxy.
    streamed["Cache-Control"] = "private, no-store"
    streamed["Content-Disposition"] = "inline"
    streamed["X-Content-Type-Options"] = "nosniff"
    return streamed


class ExportForm(forms.Form):
    what = forms.ChoiceField(
        label="Export", widget=forms.RadioSelect,
        choices=[("queue", "Flagged patients (the queue), by the day they were flagged"),
                 ("answers", "Check-in answers, by the day they were given")],
        initial="queue",
    )
    start = forms.DateField(label="From (clinic's local date)",
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))
    clinic = forms.ModelChoiceField(queryset=Clinic.objects.none(), required=False,
                                    empty_label="All my clinics")

    def __init__(self, *args, clinics, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["clinic"]).queryset = clinics

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError("The end date is before the start date.")
            if (end - start).days >= MAX_EXPORT_DAYS:
                raise forms.ValidationError(f"Export at most {MAX_EXPORT_DAYS} days at a time.")
        return cleaned


class ExportView(View):
    """A small date-range form; posting it downloads the CSV and writes an EXPORT event."""

    site: AdminSite | None = None  # as_view(site=…), by the admin site that serves it
    http_method_names = ["get", "post"]
    template_name = "admin/followups/export.html"

    def _site(self) -> AdminSite:
        if self.site is None:
            raise ImproperlyConfigured("ExportView is served by an admin site: as_view(site=…)")
        return self.site

    def _render(self, request, form):
        context = {
            **self._site().each_context(request),
            "title": "Export CSV",
            "form": form,
            "codebooks": [("queue", "Flagged patients (the queue)", exports.QUEUE_COLUMNS),
                          ("answers", "Check-in answers", exports.ANSWERS_COLUMNS)],
        }
        return TemplateResponse(request, self.template_name, context)

    def get(self, request):
        codebook = request.GET.get("codebook")
        if codebook is not None:
            if codebook not in exports.COLUMNS:
                return HttpResponseBadRequest("codebook: choose queue or answers.")
            response = HttpResponse("".join(exports.csv_lines(
                exports.CODEBOOK_HEADER, exports.codebook_rows(exports.COLUMNS[codebook]))),
                content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = (
                f'attachment; filename="aftercare-{codebook}-codebook.csv"')
            return response
        self._check_clinic_param(request, request.GET)
        today = timezone.localdate()
        initial = {"start": today - timedelta(days=30), "end": today,
                   "what": request.GET.get("what", "queue")}
        if request.GET.get("clinic"):
            initial["clinic"] = request.GET["clinic"]
        return self._render(request, ExportForm(initial=initial,
                                                clinics=clinics_for_user(request.user)))

    def post(self, request):
        self._check_clinic_param(request, request.POST)
        form = ExportForm(request.POST, clinics=clinics_for_user(request.user))
        if not form.is_valid():
            return self._render(request, form)
        what = form.cleaned_data["what"]
        model = Escalation if what == "queue" else CheckInResponse
        model_admin = self._site()._registry[model]
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        chosen = form.cleaned_data["clinic"]
        clinics = [chosen] if chosen else list(clinics_for_user(request.user))
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        if not (EXPORT_FIRST_DAY <= start and end <= EXPORT_LAST_DAY):
            # A day's end is the next midnight, and local days are moved to
            # UTC: at the calendar's edges either overflows (it was a 500).
            form.add_error("end" if end > EXPORT_LAST_DAY else "start",
                           f"Choose days between {EXPORT_FIRST_DAY.isoformat()} and "
                           f"{EXPORT_LAST_DAY.isoformat()}.")
            response = self._render(request, form)
            response.status_code = 400
            return response
        if not exports.export_streams(clinics=len(clinics), start=start, end=end):
            # Network-wide or long: a worker writes it; its page says when it is ready.
            export = exports.export_request(user=request.user, what=what, clinic=chosen,
                                            start=start, end=end)
            return HttpResponseRedirect(reverse("admin:export", args=[export.pk]))
        header, rows = exports.export_header_and_rows(
            what=what, queryset=model_admin.get_queryset(request), clinics=clinics,
            start=start, end=end)
        audit_exports(actor=request.user, clinics=clinics, what=what, start=start, end=end)
        response = StreamingHttpResponse(exports.csv_lines(header, rows),
                                         content_type="text/csv; charset=utf-8")
        filename = f"aftercare-{what}-{start.isoformat()}-{end.isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "private, no-store"
        return response

    @staticmethod
    def _check_clinic_param(request, data):
        """Naming another clinic is a 404, as a URL to its objects would be."""
        value = data.get("clinic")
        if not value or request.user.is_superuser:
            return
        try:
            clinic_id = int(value)
        except ValueError:
            raise Http404 from None
        if clinic_id not in user_clinic_ids(request.user):
            raise Http404("No such clinic among yours.")


class ExportStatusView(View):
    """The page of one export a worker writes: "being prepared", then its download link."""

    site: AdminSite | None = None
    http_method_names = ["get"]
    template_name = "admin/followups/export_status.html"

    def get(self, request, export_id):
        export = get_object_or_404(exports.exports_for_user(request.user), pk=export_id)
        if self.site is None:
            raise ImproperlyConfigured("ExportStatusView is served by an admin site")
        context = {**self.site.each_context(request), "title": "Export CSV",
                   "export": export,
                   "waiting": export.status in (Export.Status.PENDING, Export.Status.RUNNING)}
        return TemplateResponse(request, self.template_name, context)


def export_download(request, export_id):
    """The file of a ready export, to the staff member who asked for it only."""
    export = get_object_or_404(exports.exports_for_user(request.user), pk=export_id,
                               status=Export.Status.READY)
    return exports.export_file_response(export)
