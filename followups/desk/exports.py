"""CSV exports of the queue (flags) and of check-in answers, with their codebooks.

Each export is one declaration of columns (name, meaning, values, cell): the
header, every row (``export_rows``, the one row builder) and the codebook
beside the file come from it, so they cannot drift apart. Rows are read as
values, the columns each cell names, never as model instances.

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
import itertools
import logging
import operator
import re
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
from django.db.models import CharField, Count, Min, QuerySet
from django.db.models.functions import Cast
from django.http import FileResponse, Http404
from django.utils import timezone

from followups.audit import audit_exports
from followups.desk.dashboard import local_days_q
from followups.escalations.messages import reason_message
from followups.models import CheckInResponse, Escalation, Export
from patients.models import Clinic, Patient, ProductApplication
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


Row = dict[str, Any]

# The key the row builder adds to each row: its session's product applications,
# (product name, phase, lot number) in the order they were recorded.
APPLICATIONS = "applications"


@dataclass(frozen=True)
class Column:
    """One column of an export: its name, what it means and its values (the codebook), its cell.

    ``reads`` names what the cell reads from a row: ORM lookups (read as
    values, never as model instances: a year of a network is millions of
    rows) or, for a stored value read as its text, ``(alias, expression)``.
    """

    name: str
    meaning: str
    values: str
    reads: tuple[str | tuple[str, Any], ...]
    cell: Callable[[Row], object]


def _value(name: str, meaning: str, values: str, path: str) -> Column:
    """A column whose cell is one value of the row, as stored."""
    return Column(name, meaning, values, (path,), operator.itemgetter(path))


def _as_text(path: str) -> tuple[str, Cast]:
    """A stored value read as its text, not through its field's type."""
    alias = path.replace("__", "_") + "_text"
    return alias, Cast(path, output_field=CharField())


# How patients.phones stores a number (PHONENUMBER_DB_FORMAT E164).
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _phone(stored: str | None) -> str:
    """The stored number, E.164. A number stored as E.164 (every number the product saves)
    is written as it is, not parsed again for each row; one stored otherwise (a row
    written before numbers were normalised) is read as the field reads it."""
    if not stored or E164.fullmatch(stored):
        return stored or ""
    return Patient._meta.get_field("phone").to_python(stored).as_e164


def _full_name(first: str | None, last: str | None) -> str:
    # As User.get_full_name and Patient.__str__ write it.
    return f"{first or ''} {last or ''}".strip()


def _products(applications: Iterable[tuple[str, str, str]]) -> str:
    return "; ".join(f"{name} [{phase}, lot {lot or '?'}]" for name, phase, lot in applications)


def _lots(applications: Iterable[tuple[str, str, str]]) -> str:
    return " ".join(sorted({lot for _name, _phase, lot in applications if lot}))


UTC_TIME = "ISO 8601 date and time with its UTC offset"
LEVELS = "review, urgent"
SESSION_PRODUCTS = ("Products applied at the session, '; '-separated, each as "
                    "'name [phase, lot number]'")
PHASES = "phase: pre, during or post; lot '?' when none was recorded"


def _session_columns(session: str) -> tuple[Column, ...]:
    """The session's columns, to trace a reaction to a product's lot and a practitioner."""
    practitioner = tuple(f"{session}__practitioner__{name}"
                         for name in ("first_name", "last_name", "username"))
    return (
        _value("session_id", "The treatment session's id", "integer", f"{session}__id"),
        _value("session_performed_at", "When the session was performed", UTC_TIME,
               f"{session}__performed_at"),
        Column("practitioner", "Who performed the session", "full name, or user name",
               practitioner, lambda row: (_full_name(row[practitioner[0]], row[practitioner[1]])
                                          or row[practitioner[2]])),
        _value("treatment_area", "The area treated", "free text", f"{session}__treatment_area"),
        Column("products", SESSION_PRODUCTS, PHASES, (APPLICATIONS,),
               lambda row: _products(row[APPLICATIONS])),
        Column("lot_numbers", "The lot numbers applied at the session, one filter away",
               "space-separated, sorted", (APPLICATIONS,), lambda row: _lots(row[APPLICATIONS])),
    )


def _patient_columns(patient: str) -> tuple[Column, ...]:
    names = (f"{patient}__first_name", f"{patient}__last_name")
    phone = _as_text(f"{patient}__phone")
    return (
        _value("clinic", "The clinic", "its name", f"{patient}__clinic__name"),
        _value("patient_id", "The patient's id", "integer", f"{patient}__id"),
        Column("patient_name", "The patient's first and last name", "text", names,
               lambda row: _full_name(row[names[0]], row[names[1]])),
        _value("patient_email", "The patient's email address", "text", f"{patient}__email"),
        Column("patient_phone", "The patient's phone number (staff exports only)",
               "E.164 after a ' (which keeps a spreadsheet from reading + as a formula); "
               "empty if none", (phone,), lambda row: _phone(row[phone[0]])),
    )


# The path from each export's row to its session: its columns and its products.
QUEUE_SESSION = "session"
ANSWERS_SESSION = "checkin__session"

QUEUE_COLUMNS: tuple[Column, ...] = (
    _value("escalation_id", "The flag's id", "integer", "id"),
    *_patient_columns("patient"),
    _value("level", "How soon the patient must be contacted", LEVELS, "level"),
    _value("status", "Where handling stands", "open, acknowledged, resolved", "status"),
    _value("checkin_day", "The check-in's day after the session", "2, 7 or 10", "checkin__day"),
    Column("reason_codes", "The rules that raised the flag", "space-separated codes of "
           "docs/escalation-rules.md", ("reasons",),
           lambda row: " ".join(r.get("code", "") for r in row["reasons"])),
    Column("reasons", "The reasons in words", "' | '-separated", ("reasons",),
           lambda row: " | ".join(reason_message(r) for r in row["reasons"])),
    _value("raised_at", "When the flag was raised", UTC_TIME, "created_at"),
    _value("assigned_to", "Who is calling the patient", "user name; empty if nobody",
           "assigned_to__username"),
    _value("calls", "Calls recorded", "integer", "calls"),
    _value("first_call_at", "When the first call was recorded", UTC_TIME + "; empty if none",
           "first_call_at"),
    _value("acknowledged_by", "Who acknowledged it", "user name", "acknowledged_by__username"),
    _value("acknowledged_at", "When it was acknowledged", UTC_TIME, "acknowledged_at"),
    _value("resolved_by", "Who resolved it", "user name", "resolved_by__username"),
    _value("resolved_at", "When it was resolved", UTC_TIME, "resolved_at"),
    _value("resolution_note", "What was done", "free text", "resolution_note"),
    *_session_columns(QUEUE_SESSION),
)

_SYMPTOM_COLUMNS = tuple(
    _value(name, f"Answer: {name.replace('_', ' ')}", values, name)
    for names, values in (
        (CheckInResponse.SEVERITY_FIELDS, "none, mild, moderate, severe, very_severe"),
        (CheckInResponse.TREND_FIELDS, "better, same, worse; empty when the symptom is none"),
        (CheckInResponse.YES_NO_FIELDS, "yes, no"),
    )
    for name in names
)

ANSWERS_COLUMNS: tuple[Column, ...] = (
    _value("response_id", "The answers' id", "integer", "id"),
    *_patient_columns(f"{ANSWERS_SESSION}__patient"),
    _value("checkin_day", "The check-in's day after the session", "2, 7 or 10", "checkin__day"),
    _value("submitted_at", "When the answers were given", UTC_TIME, "submitted_at"),
    _value("channel", "Who entered them", "patient_link (the patient), staff (by phone)",
           "channel"),
    *_SYMPTOM_COLUMNS,
    _value("comments", "The patient's own words", "free text", "comments"),
    _value("assessment_level", "The rules' assessment", "none, watch, review, urgent",
           "assessment_level"),
    Column("reason_codes", "The rules behind it", "space-separated codes",
           ("assessment_reasons",),
           lambda row: " ".join(reason.get("code", "") for reason in row["assessment_reasons"])),
    Column("has_photo", "Whether a photo came with the answers", "yes, no", ("photo",),
           lambda row: bool(row["photo"])),
    *_session_columns(ANSWERS_SESSION),
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


def _session_applications(session_ids: Iterable[int]) -> dict[int, list[tuple[str, str, str]]]:
    """The sessions' product applications, in the order they were recorded: one query."""
    applications: dict[int, list[tuple[str, str, str]]] = {}
    for session_id, *application in (ProductApplication.objects
                                     .filter(session_id__in=set(session_ids)).order_by("pk")
                                     .values_list("session_id", "product__name", "phase",
                                                  "lot_number")):
        applications.setdefault(session_id, []).append(tuple(application))  # type: ignore[arg-type]
    return applications


def export_rows(columns: tuple[Column, ...], queryset: QuerySet, *,
                session: str) -> Iterator[list[object]]:
    """The one row builder: each row's cells, in its columns' order.

    The rows are read as values in chunks, one round trip each, and each
    chunk's sessions' applications in one more: a constant number of
    queries per chunk, whatever the rows join. ``session`` is the path from a
    row to its session, as its columns were declared with.
    """
    session_id = f"{session}__id"
    reads = [read for column in columns for read in column.reads if read != APPLICATIONS]
    paths = list(dict.fromkeys([*(read for read in reads if isinstance(read, str)),
                                session_id]))
    expressions = dict(read for read in reads if not isinstance(read, str))
    rows = queryset.values(*paths, **expressions).iterator(chunk_size=EXPORT_CHUNK_ROWS)
    while chunk := list(itertools.islice(rows, EXPORT_CHUNK_ROWS)):
        applications = _session_applications(row[session_id] for row in chunk)
        for row in chunk:
            row[APPLICATIONS] = applications.get(row[session_id], ())
            yield [column.cell(row) for column in columns]


def codebook_rows(columns: tuple[Column, ...]) -> Iterator[list[object]]:
    for column in columns:
        yield [column.name, column.meaning, column.values]


def queue_rows(queryset: QuerySet[Escalation]) -> Iterator[list[object]]:
    """The flags' rows, oldest first, with their calls counted."""
    return export_rows(QUEUE_COLUMNS, queryset.annotate(
        calls=Count("contacts"), first_call_at=Min("contacts__at")).order_by("created_at", "pk"),
        session=QUEUE_SESSION)


def answers_rows(queryset: QuerySet[CheckInResponse]) -> Iterator[list[object]]:
    """The answers' rows, in the order they were given."""
    return export_rows(ANSWERS_COLUMNS, queryset.order_by("submitted_at", "pk"),
                       session=ANSWERS_SESSION)


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
        return QUEUE_HEADER, queue_rows(queryset.filter(in_range))
    in_range = local_days_q(clinics, clinic_field="clinic", time_field="submitted_at",
                            first=start, last=end)
    return ANSWERS_HEADER, answers_rows(queryset.filter(in_range))


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
