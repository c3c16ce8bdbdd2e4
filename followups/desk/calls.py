"""The call at hand: the patient's number where a call starts, and the call recorded in one form.

Every page a nurse starts a call from (the dashboard's "Call now" list, the
queue's rows, the escalation's page, the patient's page) shows the same
thing: the number as a ``tel:`` link, the language the patient reads, and
the best time to call if known (when the patient was last reached).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django import forms
from django.db.models import Case, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from followups.models import CONTACT_NOTE_MAX_LENGTH, ContactAttempt, Escalation
from patients.models import Patient
from patients.selectors import user_clinic_ids

CALLS_SHOWN = 5


def last_reached_at(patient_ref) -> Subquery:
    """When the patient (an ``OuterRef`` to them) last answered a call."""
    return Subquery(ContactAttempt.objects.filter(
        escalation__patient=patient_ref, outcome=ContactAttempt.Outcome.REACHED,
    ).order_by("-at").values("at")[:1])


def best_time_text(reached_at: datetime | None) -> str:
    if reached_at is None:
        return ""
    local = timezone.localtime(reached_at)
    return f"around {local:%H:%M} (reached then on {date_format(local, 'j M')})"


@dataclass(frozen=True)
class NumberAtHand:
    name: str
    phone: str
    language: str
    best_time: str

    @property
    def tel_url(self) -> str:
        return "tel:" + "".join(ch for ch in self.phone if ch.isdigit() or ch == "+")

    def html(self):
        """One line: the tap-to-call link, the language, the best time."""
        if not self.phone:
            call = format_html('<span class="no-phone">No phone number recorded for {}: '
                               'add one on their page.</span>', self.name)
        else:
            call = format_html('<a class="tel-link" href="{}"><span aria-hidden="true">✆</span> '
                               'Call {}: {}</a>', self.tel_url, self.name, self.phone)
        best = format_html(" · Best time: {}", self.best_time) if self.best_time else ""
        return format_html('<span class="number-at-hand">{} · Speaks {}{}</span>',
                           call, self.language, best)


def number_at_hand(patient: Patient, *, reached_at: datetime | None) -> NumberAtHand:
    return NumberAtHand(name=str(patient), phone=str(patient.phone) if patient.phone else "",
                        language=patient.get_language_display(),
                        best_time=best_time_text(reached_at))


def patient_last_reached_at(patient: Patient) -> datetime | None:
    return (ContactAttempt.objects.filter(escalation__patient=patient,
                                          outcome=ContactAttempt.Outcome.REACHED)
            .order_by("-at").values_list("at", flat=True).first())


def callback_due_q(*, now: datetime) -> Q:
    """Flags not resolved whose promised call-back has passed (escalation_callback_planned)."""
    return (Q(next_attempt_at__isnull=False, next_attempt_at__lte=now)
            & ~Q(status=Escalation.Status.RESOLVED))


def with_call_order(queryset: QuerySet[Escalation], *, now: datetime) -> QuerySet[Escalation]:
    """``callback_due`` (1 when a promised call-back has passed) and ``patient_reached_at``."""
    return queryset.annotate(
        callback_due=Case(When(callback_due_q(now=now), then=Value(1)),
                          default=Value(0), output_field=IntegerField()),
        patient_reached_at=last_reached_at(OuterRef("patient")),
    )


# Call-backs first, then urgent, then the longest waiting.
CALL_ORDER = ("-callback_due", "-level_rank", "created_at", "id")


def calls_for_user(user, *, now: datetime, limit: int = CALLS_SHOWN) -> list[Escalation]:
    """The dashboard's "Call now": the first unresolved flags of the queue, in its order."""
    queryset = Escalation.objects.exclude(status=Escalation.Status.RESOLVED)
    if not user.is_superuser:
        # The denormalised clinic: the planner starts from the user's clinics' flags.
        queryset = queryset.filter(clinic_id__in=user_clinic_ids(user))
    ordered = with_call_order(queryset, now=now).select_related("patient__clinic", "assigned_to")
    # CALL_ORDER in two reads of ``limit`` rows each, rather than sorting every
    # unresolved flag of the network: the call-backs due (few, from
    # escalation_callback_planned), then the others in the queue's order (from
    # escalation_unresolved_order).
    callbacks_due = callback_due_q(now=now)
    calls = list(ordered.filter(callbacks_due).order_by(*CALL_ORDER)[:limit])
    if len(calls) < limit:
        calls += ordered.exclude(callbacks_due).order_by(*CALL_ORDER[1:])[:limit - len(calls)]
    for escalation in calls:
        reached_at = getattr(escalation, "patient_reached_at", None)
        escalation.at_hand = number_at_hand(escalation.patient, reached_at=reached_at)
    return calls


# Recording a call ---------------------------------------------------------------------

AGAIN_IN = {
    "": None,
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "2h": timedelta(hours=2),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
}
AGAIN_IN_LABELS = {"": "Do not plan one", "30m": "In 30 minutes", "1h": "In 1 hour",
                   "2h": "In 2 hours", "4h": "In 4 hours", "1d": "Tomorrow at this time"}


class ContactForm(forms.Form):
    """One form, one button per outcome: choosing the outcome records the call."""

    outcome = forms.ChoiceField(choices=ContactAttempt.Outcome.choices,
                                error_messages={"required": "Choose what came of the call."})
    note = forms.CharField(label="Note", required=False, max_length=CONTACT_NOTE_MAX_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                           help_text="Optional. What was said or agreed.")
    again_in = forms.ChoiceField(label="Try again", required=False,
                                 choices=list(AGAIN_IN_LABELS.items()))

    def next_attempt_at(self, *, now: datetime) -> datetime | None:
        delay = AGAIN_IN[self.cleaned_data.get("again_in") or ""]
        return None if delay is None else now + delay


class AssignForm(forms.Form):
    user = forms.IntegerField(required=False)
