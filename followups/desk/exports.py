"""CSV exports of the queue (flags) and of check-in answers, with their codebooks.

Each export is one declaration of columns (name, meaning, values, cell): the
header, every row (``export_rows``, the one row builder) and the codebook
beside the file come from it, so they cannot drift apart.

The transport (below the rows) changes apart: which rows, scoped to the
staff member's clinics and a range of local days, and how the file gets to
them. A small export streams in the request (``ExportView``); a network-wide
or long one is an ``Export`` that a worker writes to the media storage
(``export_build``, the ``followups.export_build`` task), fetched from its
page or the API when ready. Either way the export is recorded in the audit
trail, one row per clinic in one INSERT.
"""

from __future__ import annotations

import csv
import io
import logging
import operator
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from celery import current_app
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Min, Prefetch, QuerySet
from django.http import FileResponse, Http404
from django.utils import timezone

from followups.audit import audit_exports
from followups.desk.dashboard import local_days_q
from followups.escalations.messages import reason_message
from followups.models import CheckInResponse, Escalation, Export
from patients.models import Clinic, ProductApplication
from patients.selectors import clinics_for_user

logger = logging.getLogger(__name__)

EXPORT_TASK = "followups.export_build"
# Clinics × days an export may cover and still stream in the request; beyond,
# a worker writes it (a year of one clinic streams; a month of a network does not).
EXPORT_STREAM_MAX_CLINIC_DAYS = 400
# Rows read per round trip from the database.
EXPORT_CHUNK_ROWS = 1000
# The CSV is written to a temporary file held in memory up to this size, then on disk.
EXPORT_SPOOL_BYTES = 8 * 1024 * 1024

# A spreadsheet runs a cell that starts with one of these as a formula
# (OWASP "CSV injection"); a leading apostrophe makes it plain text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One column of an export: its name, what it means and its values (the codebook), its cell."""

    name: str
    meaning: str
    values: str
    cell: Callable[[Any], object]


def _user(user) -> str:
    return user.get_username() if user is not None else ""


def _practitioner(session) -> str:
    user = session.practitioner
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def _phone(number) -> str:
    # Stored as E.164 (patients.phones); formatted without str()'s validation of
    # every number, a third of the time of a year's export.
    return number.as_e164 if number else ""


def _products(session) -> str:
    return "; ".join(f"{application.product.name} [{application.phase}, lot "
                     f"{application.lot_number or '?'}]"
                     for application in session.applications.all())


def _lots(session) -> str:
    return " ".join(sorted({application.lot_number for application in session.applications.all()
                            if application.lot_number}))


UTC_TIME = "ISO 8601 date and time with its UTC offset"
LEVELS = "review, urgent"
SESSION_PRODUCTS = ("Products applied at the session, '; '-separated, each as "
                    "'name [phase, lot number]'")
PHASES = "phase: pre, during or post; lot '?' when none was recorded"


def _session_columns(session_of: Callable[[Any], Any]) -> tuple[Column, ...]:
    """The session's columns, to trace a reaction to a product's lot and a practitioner."""
    return (
        Column("session_id", "The treatment session's id", "integer",
               lambda row: session_of(row).pk),
        Column("session_performed_at", "When the session was performed", UTC_TIME,
               lambda row: session_of(row).performed_at),
        Column("practitioner", "Who performed the session", "full name, or user name",
               lambda row: _practitioner(session_of(row))),
        Column("treatment_area", "The area treated", "free text",
               lambda row: session_of(row).treatment_area),
        Column("products", SESSION_PRODUCTS, PHASES, lambda row: _products(session_of(row))),
        Column("lot_numbers", "The lot numbers applied at the session, one filter away",
               "space-separated, sorted", lambda row: _lots(session_of(row))),
    )


def _patient_columns(patient_of: Callable[[Any], Any]) -> tuple[Column, ...]:
    return (
        Column("clinic", "The clinic", "its name", lambda row: patient_of(row).clinic.name),
        Column("patient_id", "The patient's id", "integer", lambda row: patient_of(row).pk),
        Column("patient_name", "The patient's first and last name", "text",
               lambda row: str(patient_of(row))),
        Column("patient_email", "The patient's email address", "text",
               lambda row: patient_of(row).email),
        Column("patient_phone", "The patient's phone number (staff exports only)",
               "E.164 after a ' (which keeps a spreadsheet from reading + as a formula); "
               "empty if none", lambda row: _phone(patient_of(row).phone)),
    )


QUEUE_COLUMNS: tuple[Column, ...] = (
    Column("escalation_id", "The flag's id", "integer", lambda e: e.pk),
    *_patient_columns(lambda e: e.patient),
    Column("level", "How soon the patient must be contacted", LEVELS, lambda e: e.level),
    Column("status", "Where handling stands", "open, acknowledged, resolved", lambda e: e.status),
    Column("checkin_day", "The check-in's day after the session", "2, 7 or 10",
           lambda e: e.checkin.day),
    Column("reason_codes", "The rules that raised the flag", "space-separated codes of "
           "docs/escalation-rules.md", lambda e: " ".join(r.get("code", "") for r in e.reasons)),
    Column("reasons", "The reasons in words", "' | '-separated",
           lambda e: " | ".join(reason_message(r) for r in e.reasons)),
    Column("raised_at", "When the flag was raised", UTC_TIME, lambda e: e.created_at),
    Column("assigned_to", "Who is calling the patient", "user name; empty if nobody",
           lambda e: _user(e.assigned_to)),
    Column("calls", "Calls recorded", "integer", lambda e: e.calls),
    Column("first_call_at", "When the first call was recorded", UTC_TIME + "; empty if none",
           lambda e: e.first_call_at),
    Column("acknowledged_by", "Who acknowledged it", "user name",
           lambda e: _user(e.acknowledged_by)),
    Column("acknowledged_at", "When it was acknowledged", UTC_TIME, lambda e: e.acknowledged_at),
    Column("resolved_by", "Who resolved it", "user name", lambda e: _user(e.resolved_by)),
    Column("resolved_at", "When it was resolved", UTC_TIME, lambda e: e.resolved_at),
    Column("resolution_note", "What was done", "free text", lambda e: e.resolution_note),
    *_session_columns(lambda e: e.session),
)

_SYMPTOM_COLUMNS = tuple(
    Column(name, f"Answer: {name.replace('_', ' ')}", values,
           operator.attrgetter(name))
    for names, values in (
        (CheckInResponse.SEVERITY_FIELDS, "none, mild, moderate, severe, very_severe"),
        (CheckInResponse.TREND_FIELDS, "better, same, worse; empty when the symptom is none"),
        (CheckInResponse.YES_NO_FIELDS, "yes, no"),
    )
    for name in names
)

ANSWERS_COLUMNS: tuple[Column, ...] = (
    Column("response_id", "The answers' id", "integer", lambda r: r.pk),
    *_patient_columns(lambda r: r.checkin.session.patient),
    Column("checkin_day", "The check-in's day after the session", "2, 7 or 10",
           lambda r: r.checkin.day),
    Column("submitted_at", "When the answers were given", UTC_TIME, lambda r: r.submitted_at),
    Column("channel", "Who entered them", "patient_link (the patient), staff (by phone)",
           lambda r: r.channel),
    *_SYMPTOM_COLUMNS,
    Column("comments", "The patient's own words", "free text", lambda r: r.comments),
    Column("assessment_level", "The rules' assessment", "none, watch, review, urgent",
           lambda r: r.assessment_level),
    Column("reason_codes", "The rules behind it", "space-separated codes",
           lambda r: " ".join(reason.get("code", "") for reason in r.assessment_reasons)),
    Column("has_photo", "Whether a photo came with the answers", "yes, no",
           lambda r: bool(r.photo)),
    *_session_columns(lambda r: r.checkin.session),
)

QUEUE_HEADER = tuple(column.name for column in QUEUE_COLUMNS)
ANSWERS_HEADER = tuple(column.name for column in ANSWERS_COLUMNS)
CODEBOOK_HEADER = ("column", "meaning", "values")
COLUMNS = {"queue": QUEUE_COLUMNS, "answers": ANSWERS_COLUMNS}


def csv_safe(value: object) -> str:
    """The cell as text, neutralised if a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def export_rows(columns: tuple[Column, ...], objects: Iterable[Any]) -> Iterator[list[object]]:
    """The one row builder: each object's cells, in its columns' order."""
    for obj in objects:
        yield [column.cell(obj) for column in columns]


def codebook_rows(columns: tuple[Column, ...]) -> Iterator[list[object]]:
    for column in columns:
        yield [column.name, column.meaning, column.values]


def _with_session(prefix: str) -> list:
    return [f"{prefix}session__practitioner",
            Prefetch(f"{prefix}session__applications",
                     queryset=ProductApplication.objects.select_related("product")
                     .order_by("pk"))]


def queue_queryset(queryset: QuerySet[Escalation]) -> QuerySet[Escalation]:
    session = _with_session("")
    return (queryset.select_related("patient__clinic", "checkin", "acknowledged_by",
                                    "resolved_by", "assigned_to", session[0])
            .prefetch_related(session[1])
            .annotate(calls=Count("contacts"), first_call_at=Min("contacts__at"))
            .order_by("created_at", "pk"))


def queue_rows(escalations: Iterable[Escalation]) -> Iterator[list[object]]:
    return export_rows(QUEUE_COLUMNS, escalations)


def answers_queryset(queryset: QuerySet[CheckInResponse]) -> QuerySet[CheckInResponse]:
    session = _with_session("checkin__")
    return (queryset.select_related("checkin__session__patient__clinic", session[0])
            .prefetch_related(session[1]).order_by("submitted_at", "pk"))


def answers_rows(responses: Iterable[CheckInResponse]) -> Iterator[list[object]]:
    return export_rows(ANSWERS_COLUMNS, responses)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The CSV file line by line, for a streaming response."""
    writer = csv.writer(_Echo())
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow([csv_safe(cell) for cell in row])


# The transport ------------------------------------------------------------------------


def export_header_and_rows(*, what: str, queryset: QuerySet, clinics: Iterable[Clinic],
                           start: date, end: date) -> tuple[tuple[str, ...], Iterator]:
    """The header and the rows of ``queryset`` (already scoped) on the clinics' local days."""
    if what == "queue":
        in_range = local_days_q(clinics, clinic_field="clinic", time_field="created_at",
                                first=start, last=end)
        rows = queue_rows(queue_queryset(queryset.filter(in_range))
                          .iterator(chunk_size=EXPORT_CHUNK_ROWS))
        return QUEUE_HEADER, rows
    in_range = local_days_q(clinics, clinic_field="clinic", time_field="submitted_at",
                            first=start, last=end)
    rows = answers_rows(answers_queryset(queryset.filter(in_range))
                        .iterator(chunk_size=EXPORT_CHUNK_ROWS))
    return ANSWERS_HEADER, rows


def export_streams(*, clinics: int, start: date, end: date) -> bool:
    """Whether an export is small enough to stream in the request."""
    return clinics * ((end - start).days + 1) <= EXPORT_STREAM_MAX_CLINIC_DAYS


def _scoped(user, what: str) -> QuerySet:
    """The rows the user may export, as the admin's lists scope them."""
    model = Escalation if what == "queue" else CheckInResponse
    queryset = model.objects.all()
    if not user.is_superuser:
        queryset = queryset.filter(clinic__in=clinics_for_user(user))
    return queryset


def export_request(*, user, what: str, clinic: Clinic | None, start: date,
                   end: date) -> Export:
    """Record the export, audit it, and ask a worker to write the file (after commit).

    The task is sent by its name (followups.delivery.enqueue does the same), so
    this module never imports the tasks, which import it.
    """
    clinics = [clinic] if clinic is not None else list(clinics_for_user(user))
    with transaction.atomic():
        export = Export.objects.create(requested_by=user, what=what, clinic=clinic,
                                       start=start, end=end)
        audit_exports(actor=user, clinics=clinics, what=what, start=start, end=end)
        transaction.on_commit(lambda: _enqueue(export))
    return export


def _enqueue(export: Export) -> None:
    try:
        current_app.send_task(EXPORT_TASK, args=[export.pk], retry=False)
    except Exception as error:  # the broker away: say so on the page, never hang there
        logger.warning("could not enqueue export %s (%s)", export.pk, type(error).__name__)
        Export.objects.filter(pk=export.pk, status=Export.Status.PENDING).update(
            status=Export.Status.FAILED, error="The task queue is unavailable.",
            finished_at=timezone.now())
        export.status = Export.Status.FAILED


def export_build(*, export_id: int) -> Export | None:
    """Write the export's CSV to the media storage; None if another worker has it.

    Claimed with a conditional update (pending → running): a re-delivered
    task finds nothing to do. The rows are those the staff member may see
    now, read in chunks into a temporary file that spills to disk, so the
    worker's memory stays flat whatever the range; the stored file is named by
    a random token.
    """
    claimed = Export.objects.filter(pk=export_id, status=Export.Status.PENDING).update(
        status=Export.Status.RUNNING)
    if not claimed:
        return None
    export = Export.objects.select_related("requested_by", "clinic").get(pk=export_id)
    user = export.requested_by
    clinics = ([export.clinic] if export.clinic is not None
               else clinics_for_user(user))
    try:
        header, rows = export_header_and_rows(what=export.what, queryset=_scoped(user, export.what),
                                              clinics=clinics, start=export.start,
                                              end=export.end)
        count = 0
        with tempfile.SpooledTemporaryFile(max_size=EXPORT_SPOOL_BYTES, mode="w+b") as spool:
            text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
            writer = csv.writer(text)
            writer.writerow(list(header))
            for row in rows:
                writer.writerow([csv_safe(cell) for cell in row])
                count += 1
            text.flush()
            spool.seek(0)
            name = default_storage.save(f"exports/{secrets.token_urlsafe(24)}.csv", File(spool))
            text.detach()
    except Exception as error:
        logger.exception("export %s failed", export_id)
        Export.objects.filter(pk=export_id).update(
            status=Export.Status.FAILED, error=type(error).__name__[:200],
            finished_at=timezone.now())
        raise
    Export.objects.filter(pk=export_id).update(status=Export.Status.READY, file=name,
                                               rows=count, finished_at=timezone.now())
    export.refresh_from_db()
    return export


def exports_for_user(user) -> QuerySet[Export]:
    """A staff member's own exports: nobody else's, whatever their role."""
    return Export.objects.filter(requested_by=user)


def export_file_response(export: Export) -> FileResponse:
    """A ready export's CSV as a private, uncached download (the admin's page and the API)."""
    try:
        handle = export.file.open("rb")
    except FileNotFoundError:
        raise Http404("The export's file is missing.") from None
    response = FileResponse(handle, content_type="text/csv; charset=utf-8",
                            as_attachment=True, filename=export_filename(export))
    response["Cache-Control"] = "private, no-store"
    return response


def export_filename(export: Export) -> str:
    return f"aftercare-{export.what}-{export.start.isoformat()}-{export.end.isoformat()}.csv"
