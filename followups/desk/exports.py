"""CSV exports of the queue (escalations) and of check-in answers.

Two parts that change apart: the rows (``*_HEADER``, ``queue_rows``,
``answers_rows``: what a line holds) and the transport (below them: which
rows, scoped to the staff member's clinics and a range of local days, and
how the file gets to them). A small export streams in the request
(``ExportView``); a network-wide or long one is an ``Export`` that a worker
writes to the media storage (``export_build``, the ``followups.export_build``
task), fetched from its page or the API when ready. Either way the export is
recorded in the audit trail, one row per clinic in one INSERT.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date

from celery import current_app
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from followups.audit import audit_exports
from followups.desk.dashboard import local_days_q
from followups.escalations.messages import reason_message
from followups.models import CheckInResponse, Escalation, Export
from patients.models import Clinic
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

QUEUE_HEADER = (
    "escalation_id", "clinic", "patient_id", "patient_name", "patient_email", "level",
    "status", "checkin_day", "reason_codes", "reasons", "raised_at", "acknowledged_by",
    "acknowledged_at", "resolved_by", "resolved_at", "resolution_note",
)
ANSWERS_HEADER = (
    "response_id", "clinic", "patient_id", "patient_name", "patient_email", "checkin_day",
    "submitted_at", "channel", *CheckInResponse.SEVERITY_FIELDS, *CheckInResponse.TREND_FIELDS,
    *CheckInResponse.YES_NO_FIELDS, "comments", "assessment_level", "reason_codes",
    "has_photo",
)


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


def _user(user) -> str:
    return user.get_username() if user is not None else ""


def queue_queryset(queryset: QuerySet[Escalation]) -> QuerySet[Escalation]:
    return queryset.select_related(
        "patient__clinic", "checkin", "acknowledged_by", "resolved_by"
    ).order_by("created_at", "pk")


def queue_rows(escalations: Iterable[Escalation]) -> Iterator[list[object]]:
    for escalation in escalations:
        patient = escalation.patient
        yield [
            escalation.pk, patient.clinic.name, patient.pk, str(patient), patient.email,
            escalation.level, escalation.status, escalation.checkin.day,
            " ".join(reason.get("code", "") for reason in escalation.reasons),
            " | ".join(reason_message(reason) for reason in escalation.reasons),
            escalation.created_at, _user(escalation.acknowledged_by),
            escalation.acknowledged_at, _user(escalation.resolved_by), escalation.resolved_at,
            escalation.resolution_note,
        ]


def answers_queryset(queryset: QuerySet[CheckInResponse]) -> QuerySet[CheckInResponse]:
    return queryset.select_related("checkin__session__patient__clinic").order_by(
        "submitted_at", "pk"
    )


def answers_rows(responses: Iterable[CheckInResponse]) -> Iterator[list[object]]:
    for response in responses:
        patient = response.checkin.session.patient
        yield [
            response.pk, patient.clinic.name, patient.pk, str(patient), patient.email,
            response.checkin.day, response.submitted_at, response.channel,
            *(getattr(response, name) for name in CheckInResponse.SEVERITY_FIELDS),
            *(getattr(response, name) for name in CheckInResponse.TREND_FIELDS),
            *(getattr(response, name) for name in CheckInResponse.YES_NO_FIELDS),
            response.comments, response.assessment_level,
            " ".join(reason.get("code", "") for reason in response.assessment_reasons),
            bool(response.photo),
        ]


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


def export_filename(export: Export) -> str:
    return f"aftercare-{export.what}-{export.start.isoformat()}-{export.end.isoformat()}.csv"
