"""Comments to read: every non-empty comment that raised no flag waits for a person.

Clinical reference, "Comments: warning signs": free text is never ignored. A
comment naming a warning sign raises COMMENT_CONCERN (followups.assessment.rules) and is
read with its escalation; every other one is shown to staff, on the dashboard
and the patient's page, until a staff member marks it read (who and when are
kept on the answers and in the audit trail). Each is due within one business
day of being written, on its clinic's wall clock, and shown as overdue after
that (``followups.assessment.schedule.comment_due_at``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from followups.assessment.schedule import comment_due_at, comments_overdue_cutoff
from followups.audit import audit_record
from followups.models import AuditEvent, CheckInResponse
from patients.models import Clinic
from patients.selectors import clinics_by_zone, user_clinic_ids


def comments_to_read_for_user(user) -> QuerySet[CheckInResponse]:
    """The user's clinics' comments waiting to be read, oldest first."""
    queryset = (CheckInResponse.objects.filter(comment_waiting=True)
                .select_related("checkin__session__patient"))
    if not user.is_superuser:
        queryset = queryset.filter(clinic_id__in=user_clinic_ids(user))
    return queryset.order_by("submitted_at", "id")


@transaction.atomic
def comment_mark_read(*, response: CheckInResponse, actor) -> bool:
    """Mark one comment read by ``actor``; False if someone already had (nothing changes)."""
    now = timezone.now()
    marked = CheckInResponse.objects.filter(pk=response.pk, comment_waiting=True).update(
        comment_waiting=False, comment_read_by=actor, comment_read_at=now)
    if marked:
        response.comment_waiting, response.comment_read_by, response.comment_read_at = (
            False, actor, now)
        patient = response.checkin.session.patient
        audit_record(actor=actor, action=AuditEvent.Action.READ_COMMENT, patient=patient,
                     target=f"Comment of {response}")
    return bool(marked)


def comment_read_due_at(response: CheckInResponse) -> datetime:
    """When a comment to read is due: one business day after it was written, at its clinic."""
    return comment_due_at(submitted_at=response.submitted_at,
                          timezone=response.checkin.session.patient.clinic.timezone)


def comment_overdue(response: CheckInResponse, *, now: datetime) -> bool:
    """A comment still waiting at or after its due time."""
    return response.comment_waiting and comment_read_due_at(response) <= now


def comments_overdue_q(clinics: Iterable[Clinic], *, now: datetime,
                       clinic_field: str = "checkin__session__patient__clinic") -> Q:
    """Waiting comments of ``clinics`` already overdue at ``now``, each by its clinic's days.

    One cut-off a time zone on the time written (``comments_overdue_cutoff``), OR-ed
    together: an indexable condition on ``submitted_at``, no per-row arithmetic.
    """
    condition = Q(pk__in=[])
    # The cut-off is the zone's: one branch per time zone, not per clinic.
    for zone, members in clinics_by_zone(clinics).items():
        cutoff = comments_overdue_cutoff(now=now, timezone=zone)
        condition |= Q(**{f"{clinic_field}__in": members, "submitted_at__lte": cutoff})
    return Q(comment_waiting=True) & condition
