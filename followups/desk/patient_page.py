"""The patient's page: sessions, answers, charts, escalations, what is watched and what waits.

Read in a fixed number of queries whatever the patient's history (prefetches,
not lookups per row), and shaped for the page's template here, so the admin's
view only asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from followups.assessment import symptoms
from followups.assessment.rules import WATCH_CODES, Severity
from followups.desk.calls import NumberAtHand, number_at_hand
from followups.desk.charts import SYMPTOMS, symptom_chart_svg
from followups.desk.display import desk_date, level_badge, photo_url, reasons_list
from followups.desk.phone_answers import ANSWERABLE_BY_STAFF
from followups.escalations.comments import comment_read_due_at
from followups.models import CheckIn, CheckInResponse, ContactAttempt, Escalation
from followups.selectors import session_allergy_warnings
from patients.models import Patient, ProductApplication, TreatmentSession

SEVERITY_RANK = {step.value_name: int(step) for step in Severity}
# Check-ins whose email a nurse may send again from the patient's page.
RESENDABLE = (CheckIn.Status.SENT, CheckIn.Status.MISSED, CheckIn.Status.FAILED)


@dataclass
class CheckInView:
    checkin: CheckIn
    response: CheckInResponse | None


@dataclass
class SessionView:
    session: TreatmentSession
    applications: list[ProductApplication]
    allergy_warnings: list[dict]
    checkins: list[CheckInView]
    escalations: list[Escalation]
    severities: dict[str, dict[int, int | None]]
    photos: list[CheckInResponse]
    # Filled in by the patient's page (patients.admin) for its template.
    chart_svg: str = ""
    photo_urls: list[tuple[int, str]] = field(default_factory=list)
    resendable: list[CheckIn] = field(default_factory=list)
    answerable: list[CheckIn] = field(default_factory=list)

    @property
    def has_answers(self) -> bool:
        return any(item.response is not None for item in self.checkins)

    @property
    def answer_table(self) -> list[tuple[str, str, list[str]]]:
        """(label, day-0 baseline, [answer per check-in]) rows, for the page and screen readers."""
        rows = []
        for label, name in ANSWER_ROWS:
            baseline = "none (before)" if name in SYMPTOMS else ""
            cells = [_answer_text(item.response, name) for item in self.checkins]
            rows.append((label, baseline, cells))
        return rows


def _answer_rows() -> tuple[tuple[str, str], ...]:
    """(label, answer field): each symptom in the order asked, its trend right after it."""
    rows = []
    for symptom in symptoms.SYMPTOMS:
        rows.append((symptom.label, symptom.name))
        if symptom.trend is not None:
            rows.append((f"{symptom.label} compared with before", symptom.trend_name))
    return (*rows, ("Comments", "comments"))


ANSWER_ROWS = _answer_rows()


def _answer_text(response: CheckInResponse | None, name: str) -> str:
    if response is None:
        return "not answered"
    value = getattr(response, name)
    if isinstance(value, bool):
        return "YES" if value else "no"
    if not value:
        return "–"
    if name == "comments":
        return value
    return getattr(response, f"get_{name}_display")().lower()


def severities_by_day(responses: dict[int, CheckInResponse]) -> dict[str, dict[int, int | None]]:
    """0-4 per symptom at day 0 (baseline: none, before the session), 2 and 7."""
    series = {}
    for symptom in SYMPTOMS:
        points: dict[int, int | None] = {0: 0}
        for day in settings.CHECKIN_DAYS:
            response = responses.get(day)
            points[day] = (SEVERITY_RANK[getattr(response, symptom)]
                           if response is not None else None)
        series[symptom] = points
    return series


def patient_timeline(patient: Patient) -> list[SessionView]:
    """Sessions, newest first, each with products, check-ins, answers and escalations."""
    sessions = (
        TreatmentSession.objects.filter(patient=patient)
        .select_related("practitioner")
        .prefetch_related(
            Prefetch("applications",
                     queryset=ProductApplication.objects.select_related("product")),
            Prefetch("checkins",
                     queryset=CheckIn.objects.select_related("response").order_by("day")),
            Prefetch("escalations",
                     queryset=Escalation.objects.select_related(
                         "checkin", "acknowledged_by", "resolved_by", "assigned_to"
                     ).prefetch_related(Prefetch(
                         "contacts", queryset=ContactAttempt.objects.select_related("by")
                     )).order_by("-level_rank", "created_at")),
        )
        .order_by("-performed_at", "-pk")
    )
    views = []
    for session in sessions:
        session.patient = patient  # for the allergy check, without a query per session
        checkins = []
        responses: dict[int, CheckInResponse] = {}
        for checkin in session.checkins.all():
            response = getattr(checkin, "response", None)
            checkins.append(CheckInView(checkin=checkin, response=response))
            if response is not None:
                responses[checkin.day] = response
        views.append(SessionView(
            session=session,
            applications=list(session.applications.all()),
            allergy_warnings=session_allergy_warnings(session),
            checkins=checkins,
            escalations=list(session.escalations.all()),
            severities=severities_by_day(responses),
            photos=[responses[day] for day in sorted(responses) if responses[day].photo],
        ))
    return views


@dataclass(frozen=True)
class TimelineEvent:
    """One thing that happened in the patient's follow-up, for the page's single timeline."""

    at: datetime
    kind: str  # sent, answered, flagged, call, acknowledged, resolved
    text: str
    detail: SafeString | str = ""
    outcome: str = ""  # a call's


EVENT_ORDER = ("sent", "answered", "flagged", "acknowledged", "call", "resolved")


def _who(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "someone"


def timeline_events(views: list[SessionView]) -> list[TimelineEvent]:
    """Check-ins, answers, flags, calls and resolutions in one order, newest first."""
    events: list[TimelineEvent] = []
    for view in views:
        for item in view.checkins:
            checkin = item.checkin
            if checkin.sent_at:
                events.append(TimelineEvent(checkin.sent_at, "sent",
                                            f"Day-{checkin.day} check-in sent"))
            if item.response is not None:
                how = " (taken by phone)" if item.response.channel == "staff" else ""
                events.append(TimelineEvent(
                    item.response.submitted_at, "answered",
                    f"Day-{checkin.day} answers{how}: assessed "
                    f"{item.response.assessment_level}"))
        for escalation in view.escalations:
            events.append(TimelineEvent(
                escalation.created_at, "flagged",
                f"{escalation.get_level_display()} flag raised (day {escalation.checkin.day})",
                reasons_list(escalation.reasons)))
            contacts = list(escalation.contacts.all())
            for contact in contacts:
                again = (f"; try again {desk_date(contact.next_attempt_at)} "
                         f"{timezone.localtime(contact.next_attempt_at):%H:%M}"
                         if contact.next_attempt_at else "")
                events.append(TimelineEvent(
                    contact.at, "call",
                    f"Call by {_who(contact.by)}: {contact.get_outcome_display()}{again}",
                    contact.note, outcome=contact.outcome))
            if escalation.acknowledged_at and not contacts:
                events.append(TimelineEvent(escalation.acknowledged_at, "acknowledged",
                                            f"Acknowledged by {_who(escalation.acknowledged_by)}"))
            if escalation.resolved_at:
                events.append(TimelineEvent(escalation.resolved_at, "resolved",
                                            f"Resolved by {_who(escalation.resolved_by)}",
                                            escalation.resolution_note))
    # At one instant (answers and the flag they raise), in the order they follow each other.
    events.sort(key=lambda event: (event.at, EVENT_ORDER.index(event.kind)), reverse=True)
    return events


@dataclass(frozen=True)
class CommentToRead:
    """A comment waiting for a person, when it is due (one business day) and whether it is late."""

    answers: CheckInResponse
    due_at: datetime
    overdue: bool


@dataclass
class PatientPage:
    """What the patient's page shows, beside the patient's own form."""

    patient: Patient
    timeline: list[SessionView]
    open_escalations: list[Escalation]
    # (the open day-10 check-in, why it was asked for: the day-7 watch reasons)
    watching: list[tuple[CheckIn, SafeString]]
    comments_to_read: list[CommentToRead]
    add_session_url: str
    at_hand: NumberAtHand | None = None
    events: list[TimelineEvent] = field(default_factory=list)

    @property
    def has_answers(self) -> bool:
        return any(view.has_answers for view in self.timeline)


def patient_page(*, patient: Patient, can_resend: bool,
                 now: datetime | None = None) -> PatientPage:
    """The patient's page; ``can_resend``: the viewer may send a check-in's email again.

    ``now`` (the clock by default) tells which comments to read are overdue.
    """
    now = now or timezone.now()
    timeline = patient_timeline(patient)
    open_escalations: list[Escalation] = []
    # Who is watched and why, and the comments waiting for a person: read
    # from the timeline already loaded, no query more.
    watching: list[tuple[CheckIn, SafeString]] = []
    comments_to_read: list[CommentToRead] = []
    for view in timeline:
        answered = {item.checkin.day: item.response for item in view.checkins
                    if item.response is not None}
        for answers in answered.values():
            if answers.comment_waiting:
                due_at = comment_read_due_at(answers)
                comments_to_read.append(CommentToRead(answers=answers, due_at=due_at,
                                                      overdue=due_at <= now))
        for item in view.checkins:
            if (item.checkin.day == settings.CHECKIN_WATCH_DAY
                    and item.checkin.status in CheckIn.OPEN_STATUSES):
                day7 = answered.get(max(settings.CHECKIN_DAYS))
                reasons = [reason for reason in (day7.assessment_reasons if day7 else [])
                           if reason["code"] in WATCH_CODES]
                watching.append((item.checkin, reasons_list(reasons)))
        day = desk_date(view.session.performed_at)
        view.chart_svg = mark_safe(symptom_chart_svg(  # every text in it is escaped
            series=view.severities, chart_id=f"symptoms-session-{view.session.pk}",
            title=f"Symptoms after the session of {day}",
        ))
        view.photo_urls = [(answers.checkin.day, photo_url(answers)) for answers in view.photos]
        view.resendable = [item.checkin for item in view.checkins
                           if can_resend and item.checkin.status in RESENDABLE]
        # Answers taken by phone: a check-in whose time has come and that can still take them.
        view.answerable = [item.checkin for item in view.checkins
                           if can_resend and item.checkin.due_at <= now
                           and item.checkin.status in ANSWERABLE_BY_STAFF]
        for escalation in view.escalations:
            escalation.badge = level_badge(escalation.level)
            escalation.reasons_html = reasons_list(escalation.reasons)
            if escalation.status != Escalation.Status.RESOLVED:
                open_escalations.append(escalation)
    open_escalations.sort(key=lambda e: (-e.level_rank, e.created_at))
    events = timeline_events(timeline)
    reached = [event.at for event in events if event.outcome == ContactAttempt.Outcome.REACHED]
    return PatientPage(
        patient=patient, timeline=timeline, open_escalations=open_escalations,
        watching=watching, comments_to_read=comments_to_read, events=events,
        at_hand=number_at_hand(patient, reached_at=reached[0] if reached else None),
        add_session_url=reverse("admin:patients_treatmentsession_add") + f"?patient={patient.pk}",
    )
