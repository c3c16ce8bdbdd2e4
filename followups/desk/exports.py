"""CSV exports of the queue (escalations) and of check-in answers.

Rows only: the admin view chooses the rows (scoped to the user's clinics and
a date range), records the export in the audit trail and streams the file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from followups.escalations.messages import reason_message
from followups.models import CheckInResponse, Escalation

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
