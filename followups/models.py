"""Check-ins, the patient's answers, escalations and the audit trail."""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q

from followups.assessment.rules import ESCALATION_LEVELS, Level
from followups.assessment.symptoms import (
    Severity,
    Trend,
    severity_names,
    symptoms_with_trend,
    trend_names,
    yes_no_names,
)
from patients.models import Clinic, Patient, Product, TreatmentSession

# The answer scales are the symptom catalogue's (followups.assessment.symptoms):
# defined once there, stored here as their interface strings.
SEVERITY_CHOICES = Severity.choices()
SEVERITY_VALUES = [value for value, _label in SEVERITY_CHOICES]
TREND_CHOICES = Trend.choices()
TREND_VALUES = [value for value, _label in TREND_CHOICES]
ASSESSMENT_LEVEL_CHOICES = Level.choices()
ESCALATION_LEVEL_CHOICES = Level.choices(escalating_only=True)
# Free text has a length (interface: comments at most 2000 characters); the
# patient's form, the admin and the API read these limits from here.
COMMENTS_MAX_LENGTH = 2000
RESOLUTION_NOTE_MAX_LENGTH = 4000
CONTACT_NOTE_MAX_LENGTH = 2000


class Claimable(models.Model):
    """A row that a sweep claims before doing slow work for it.

    Claiming moves ``next_action_at`` forward by the lease and stamps a fresh
    ``claim_token`` in one conditional UPDATE: a second sweep sees the row as
    not due, and a worker that dies mid-send leaves a row that falls due again
    when the lease runs out. Only the holder of the token may finish it.
    """

    next_action_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    last_error = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        abstract = True


class CheckInStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENT = "sent", "Sent"
    COMPLETED = "completed", "Completed"
    MISSED = "missed", "Missed"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class CheckIn(Claimable):
    Status = CheckInStatus

    OPEN_STATUSES = (Status.SCHEDULED, Status.SENT)

    # No index of its own: checkin_one_per_session_day (session, day) serves
    # every lookup by session, and each index is one more write per answer.
    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT,
                                related_name="checkins", db_index=False)
    # The session's patient's clinic, copied by the service that makes the row:
    # staff lists scoped to clinics start from checkin_clinic_due.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", db_index=False)
    day = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Bumped by a staff resend: part of the Message-ID, so a retried send of
    # the same email keeps its id while a resend is a new message.
    send_generation = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "check-in"
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "day"], name="checkin_one_per_session_day"),
            # Day 2 and day 7 for every session; one later watch check-in
            # (settings.CHECKIN_WATCH_DAY, day 10 by default) after a watch answer.
            models.CheckConstraint(condition=Q(day__gte=1) & Q(day__lte=60),
                                   name="checkin_day_in_follow_up"),
            models.CheckConstraint(
                condition=Q(status__in=CheckInStatus.values), name="checkin_status_valid"
            ),
            # Only open check-ins have a next action: the sweep's index stays
            # the size of the work to do, not of the history.
            models.CheckConstraint(
                condition=Q(next_action_at__isnull=True) | Q(status__in=["scheduled", "sent"]),
                name="checkin_next_action_only_when_open",
            ),
        ]
        indexes = [
            # Consumed by followups.delivery.claims.claim_due_rows, as the sweep claims
            # due check-ins.
            models.Index(fields=["next_action_at"], name="checkin_next_action",
                         condition=Q(next_action_at__isnull=False)),
            models.Index(fields=["status", "due_at"], name="checkin_status_due"),
            # The lists' order network-wide (the admin's newest due first, the API's
            # cursor): with the id, a page of the thousands due at one send hour is
            # read in order, not all of them sorted by id.
            models.Index(fields=["due_at", "id"], name="checkin_due_order"),
            # A clinic's check-ins in the lists' order (the API, the admin).
            models.Index(fields=["clinic", "due_at", "id"], name="checkin_clinic_due"),
            # A clinic's check-ins still waiting on the patient or the mail, for its
            # dashboard (followups.desk.dashboard.growing_counts): the size of the
            # waiting, not of the clinic's history.
            models.Index(fields=["clinic", "due_at"], name="checkin_clinic_open",
                         condition=Q(status__in=["sent", "failed"])),
        ]

    def __str__(self) -> str:
        return f"Day-{self.day} check-in #{self.pk}"

    @property
    def patient(self) -> Patient:
        return self.session.patient


class CheckInLink(models.Model):
    """A link emailed to the patient. Only the token's SHA-256 is stored."""

    checkin = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="links")
    # Unique by a constraint, not unique=True: on PostgreSQL a unique CharField
    # also gets a varchar_pattern_ops "_like" index, for LIKE queries a hash
    # never sees (535 MB at 6 million links).
    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "check-in link"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["token_hash"],
                                               name="checkinlink_token_hash_unique")]

    def __str__(self) -> str:
        return f"Link for check-in #{self.checkin_id}"


def _answer_columns(severities: tuple[str, ...], trends: tuple[str, ...],
                    yes_no: tuple[str, ...]) -> dict[str, models.Field]:
    """A column for each answer field, in the order given (the table's, as migrated)."""
    return {
        **{name: models.CharField(max_length=12, choices=SEVERITY_CHOICES) for name in severities},
        **{name: models.CharField(max_length=6, choices=TREND_CHOICES, blank=True)
           for name in trends},
        **{name: models.BooleanField() for name in yes_no},
    }


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class DeliveryKind(models.TextChoices):
    INVITATION = "invitation", "Invitation"
    REMINDER = "reminder", "Reminder"


class Delivery(models.Model):
    """One message sent for a check-in through one channel, and what its provider said since.

    Written when the message has gone, with the check-in's own change
    (followups.services); its status moves on when the provider calls back
    (a bounce: ``failed``; a receipt: ``delivered``). Failed attempts to send
    are the check-in's (``last_error``, ``attempts``): no message left.
    """

    Status = DeliveryStatus
    Kind = DeliveryKind

    checkin = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="deliveries")
    # A channel's name (followups.delivery.channels): "email".
    channel = models.CharField(max_length=20)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The check-in's send generation when it went: a callback about a message
    # sent before a staff resend says nothing about the new one.
    send_generation = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices)
    # When it reached its status: sent (or queued), then delivered or failed.
    at = models.DateTimeField()
    error = models.CharField(max_length=300, blank=True)
    # The provider's id for the message, to match its callbacks; empty over plain SMTP.
    provider_message_id = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values),
                                   name="delivery_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=DeliveryKind.values),
                                   name="delivery_kind_valid"),
        ]
        indexes = [
            # Consumed by followups.services.delivery_provider_event, matching a
            # provider's callback to its message.
            models.Index(fields=["provider_message_id"], name="delivery_provider_message",
                         condition=~Q(provider_message_id="")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of check-in #{self.checkin_id} by {self.channel}"


def photo_upload_to(instance: CheckInResponse, filename: str) -> str:
    import secrets

    # No names, no dates, no extension from the patient: a random name.
    return f"checkin-photos/{secrets.token_hex(16)}.jpg"


class CheckInResponse(models.Model):
    class Channel(models.TextChoices):
        PATIENT_LINK = "patient_link", "Patient (emailed link)"
        STAFF = "staff", "Staff (by phone)"

    # The answers' columns, one per answer field of the symptom catalogue, in
    # the table's order: the severities, their trends, the yes/no answers.
    SEVERITY_FIELDS = severity_names()
    TREND_FIELDS = trend_names()
    YES_NO_FIELDS = yes_no_names()

    checkin = models.OneToOneField(CheckIn, on_delete=models.PROTECT, related_name="response")
    # The check-in's clinic, copied when the answers are stored.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", db_index=False)
    # locals() in a class body is the namespace the class is made from (so the
    # Python 3.13 documentation says; CPython has always done it): the columns
    # are declared here, in this order, as if written out one by one.
    locals().update(_answer_columns(SEVERITY_FIELDS, TREND_FIELDS, YES_NO_FIELDS))
    # A TextField's max_length only sizes forms; the validator is the model's check.
    comments = models.TextField(max_length=COMMENTS_MAX_LENGTH, blank=True,
                                validators=[MaxLengthValidator(COMMENTS_MAX_LENGTH)])
    photo = models.ImageField(upload_to=photo_upload_to, null=True, blank=True)
    channel = models.CharField(max_length=12, choices=Channel.choices)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    submitted_at = models.DateTimeField()
    assessment_level = models.CharField(max_length=6, default=Level.NONE.label)
    assessment_reasons = models.JSONField(default=list, blank=True)
    # A comment that raised no COMMENT_CONCERN waits for a person to read it
    # (clinical-reference: every comment is read); who marked it read, and when.
    comment_read_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                        null=True, blank=True, related_name="+")
    comment_read_at = models.DateTimeField(null=True, blank=True)
    # Set when the answers are stored: a non-empty comment that raised no
    # COMMENT_CONCERN (a flagged one is read with its escalation). Cleared by
    # followups.escalations.comments.comment_mark_read.
    comment_waiting = models.BooleanField(default=False)

    class Meta:
        verbose_name = "check-in answers"
        verbose_name_plural = "check-in answers"
        ordering = ["-submitted_at"]
        indexes = [
            models.Index(fields=["submitted_at"], name="response_submitted"),
            models.Index(fields=["clinic", "submitted_at"], name="response_clinic_submitted"),
            # Consumed by followups.escalations.comments.comments_to_read_for_user
            # and the dashboard's count: the comments waiting for a person.
            models.Index(fields=["submitted_at"], name="response_comment_waiting",
                         condition=Q(comment_waiting=True)),
        ]
        constraints = [
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{name}__in": SEVERITY_VALUES}),
                    name=f"response_{name}_valid",
                )
                for name in severity_names()
            ],
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{name}__in": ["", *TREND_VALUES]}),
                    name=f"response_{name}_valid",
                )
                for name in trend_names()
            ],
            # A trend is given for a symptom that is present (clean() says so in words).
            *[
                models.CheckConstraint(
                    condition=(Q(**{symptom.name: Severity.NONE.value_name})
                               | ~Q(**{symptom.trend_name: ""})),
                    name=f"response_{symptom.name}_trend_given",
                )
                for symptom in symptoms_with_trend()
            ],
            models.CheckConstraint(
                condition=Q(channel="patient_link") | Q(entered_by__isnull=False),
                name="response_staff_entry_has_author",
            ),
            models.CheckConstraint(
                condition=Q(assessment_level__in=[value for value, _ in ASSESSMENT_LEVEL_CHOICES]),
                name="response_assessment_level_valid",
            ),
        ]

    # A trend is asked about a symptom the patient has: its field's symptom.
    TREND_OF = {symptom.trend_name: symptom for symptom in symptoms_with_trend()}

    def __str__(self) -> str:
        return f"Answers to check-in #{self.checkin_id}"

    def clean(self) -> None:
        """A trend is given exactly for a symptom the patient has: the one place this is decided.

        The patient's form, the staff API and the service all show this error;
        the table's constraints (response_*_trend_given) back it up.
        """
        errors = {}
        for trend, symptom in self.TREND_OF.items():
            assert symptom.trend is not None
            present = getattr(self, symptom.name) != Severity.NONE.value_name
            if present and not getattr(self, trend):
                errors[trend] = ValidationError(
                    f"You said you have {symptom.trend.words.msgid}: choose whether it is "
                    "getting better, about the same, or getting worse.",
                    code="trend_required",
                )
            elif not present and getattr(self, trend):
                # A trend is an answer about a symptom that is present: one given
                # for "none" would read as worsening (clinical-reference).
                errors[trend] = ValidationError(
                    f"You said you have no {symptom.trend.absent_words.msgid}: leave whether "
                    "it is getting better or worse empty.",
                    code="trend_without_symptom",
                )
        if errors:
            raise ValidationError(errors)


class Escalation(Claimable):
    """A patient flagged for a clinician, with the reasons and their sources.

    For urgent escalations the inherited ``next_action_at`` is when the next
    alert email is due: at once, then again at the acknowledgement deadline.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    class Trigger(models.TextChoices):
        RESPONSE = "response", "Answers"
        NO_RESPONSE = "no_response", "No response"
        UNDELIVERED = "undelivered", "Could not reach"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="escalations")
    # The patient's clinic, copied when the escalation is raised.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", db_index=False)
    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT,
                                related_name="escalations")
    # No index of its own: escalation_one_per_checkin_trigger (checkin, trigger) serves it.
    checkin = models.ForeignKey(CheckIn, on_delete=models.PROTECT, related_name="escalations",
                                db_index=False)
    response = models.OneToOneField(CheckInResponse, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="escalation")
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    level = models.CharField(max_length=6, choices=ESCALATION_LEVEL_CHOICES)
    level_rank = models.PositiveSmallIntegerField(editable=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    reasons = models.JSONField(default=list)
    created_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                        null=True, blank=True, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True, max_length=RESOLUTION_NOTE_MAX_LENGTH,
                                       validators=[MaxLengthValidator(RESOLUTION_NOTE_MAX_LENGTH)])
    alert_sent_at = models.DateTimeField(null=True, blank=True)
    renotified_at = models.DateTimeField(null=True, blank=True)
    # Who is calling the patient back ("Mine" in the queue). No index of its
    # own here: escalation_assigned (0014) is built concurrently.
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+", db_index=False)
    # The next call promised by the latest contact attempt (None: none pending);
    # once it passes the escalation goes back on top of the queue and the
    # assignee is reminded (attempt_reminded_at, once per promised time).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempt_reminded_at = models.DateTimeField(null=True, blank=True)
    # When the clinic's on-call phone was texted about it (once at most).
    on_call_texted_at = models.DateTimeField(null=True, blank=True)
    # When the sweep looked for a cluster around this escalation; None while
    # it has yet to (only escalations with a cluster reason ever wait).
    clusters_checked_at = models.DateTimeField(null=True, blank=True)
    # Not columns: set on the escalations an admin page lists, for its template
    # (the patient's page, the resolve page).
    badge: str
    reasons_html: str
    # The call at hand (followups.desk.calls), on the dashboard's "Call now".
    at_hand: object

    class Meta:
        # One name for flags on every staff page: the menu, the queue, the breadcrumbs.
        verbose_name = "flag"
        verbose_name_plural = "flagged patients"
        ordering = ["-level_rank", "created_at", "id"]
        constraints = [
            # Evaluating the same answers (or the same silence) twice never
            # raises a second escalation.
            models.UniqueConstraint(fields=["checkin", "trigger"],
                                    name="escalation_one_per_checkin_trigger"),
            models.CheckConstraint(condition=Q(level__in=[level.label
                                                          for level in ESCALATION_LEVELS]),
                                   name="escalation_level_valid"),
            # The rank is the rules' Level, stored so the queue sorts urgent first.
            models.CheckConstraint(
                condition=reduce(or_, (Q(level=level.label, level_rank=level.escalation_rank)
                                       for level in ESCALATION_LEVELS)),
                name="escalation_level_rank_matches",
            ),
            models.CheckConstraint(condition=Q(status__in=["open", "acknowledged", "resolved"]),
                                   name="escalation_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="resolved")
                | (Q(resolved_at__isnull=False) & ~Q(resolution_note="")),
                name="escalation_resolved_has_note",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(acknowledged_at__isnull=False),
                name="escalation_handled_was_acknowledged",
            ),
        ]
        indexes = [
            # Consumed by followups.delivery.claims.claim_due_rows, as
            # followups.escalations.services.escalation_alerts_process claims urgent alerts.
            models.Index(fields=["next_action_at"], name="escalation_next_alert",
                         condition=Q(next_action_at__isnull=False)),
            # The staff queue: unresolved, urgent first, then oldest.
            models.Index(fields=["status", "-level_rank", "created_at"],
                         name="escalation_queue"),
            # A clinic's queue, in the queue's order.
            models.Index(fields=["clinic", "status", "-level_rank", "created_at"],
                         name="escalation_clinic_queue"),
            # Every escalation in the lists' order (Meta.ordering): network-wide
            # pages (the API's cursor) read from it instead of sorting the table.
            models.Index(fields=["-level_rank", "created_at", "id"], name="escalation_ordering"),
            # The unresolved ones in that order: the dashboard's "Call now" reads
            # its first rows without passing every resolved flag before them.
            models.Index(fields=["-level_rank", "created_at", "id"],
                         name="escalation_unresolved_order", condition=~Q(status="resolved")),
            # The unresolved ones by planned call-back: those come due go first
            # in the queue and "Call now" (followups.desk.calls).
            models.Index(fields=["next_attempt_at"], name="escalation_callback_planned",
                         condition=~Q(status="resolved") & Q(next_attempt_at__isnull=False)),
            # A patient's open level (followups.selectors.with_open_escalation_level).
            models.Index(fields=["patient", "-level_rank"], name="escalation_patient_open",
                         condition=~Q(status="resolved")),
            # Consumed by followups.escalations.clusters.escalation_clusters_process.
            models.Index(fields=["created_at"], name="escalation_clusters_pending",
                         condition=Q(clusters_checked_at__isnull=True)),
            # "Mine" in the queue; over every row, as a foreign key's index is
            # (the user's PROTECT check on deletion reads it).
            models.Index(fields=["assigned_to"], name="escalation_assigned"),
            # Consumed by followups.escalations.contacts.contact_reminders_process.
            models.Index(fields=["next_attempt_at"], name="escalation_attempt_due",
                         condition=Q(next_attempt_at__isnull=False,
                                     attempt_reminded_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} flag #{self.pk}"

    def save(self, *args, **kwargs):
        self.level_rank = Level.from_label(self.level).escalation_rank
        super().save(*args, **kwargs)


class ContactAttempt(models.Model):
    """A call (or a try) to a flagged patient: what came of it, and when to try again."""

    class Outcome(models.TextChoices):
        REACHED = "reached", "Reached"
        NO_ANSWER = "no_answer", "No answer"
        VOICEMAIL = "voicemail", "Left a voicemail"
        WRONG_NUMBER = "wrong_number", "Wrong number"
        OTHER = "other", "Other"

    escalation = models.ForeignKey(Escalation, on_delete=models.PROTECT, related_name="contacts")
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    note = models.TextField(blank=True, max_length=CONTACT_NOTE_MAX_LENGTH,
                            validators=[MaxLengthValidator(CONTACT_NOTE_MAX_LENGTH)])
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=["reached", "no_answer", "voicemail", "wrong_number",
                                         "other"]),
                name="contact_outcome_valid"),
            models.CheckConstraint(
                condition=Q(next_attempt_at__isnull=True) | Q(next_attempt_at__gt=models.F("at")),
                name="contact_next_attempt_after_it"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} ({self.at:%Y-%m-%d %H:%M})"


class ClusterSignal(models.Model):
    """Several patients with related escalations: one lot, or one practitioner."""

    class Kind(models.TextChoices):
        PRODUCT_LOT = "product_lot", "Same product lot (allergy or rash)"
        PRACTITIONER = "practitioner", "Same practitioner (infection)"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="cluster_signals")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    key = models.CharField(max_length=200)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    lot_number = models.CharField(max_length=64, blank=True)
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")
    patients = models.ManyToManyField(Patient, related_name="cluster_signals")
    escalations = models.ManyToManyField(Escalation, related_name="cluster_signals")
    reason_codes = models.JSONField(default=list)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # Not a column: the dashboard's reasons in words (followups.desk.display).
    reasons_in_words: str
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "key"], condition=Q(status="open"),
                                    name="cluster_one_open_per_key"),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.PRODUCT_LOT:
            return f"Cluster: {self.product} lot {self.lot_number}"
        return f"Cluster: practitioner {self.practitioner}"


class AuditEvent(models.Model):
    """Append-only record of who saw or changed a patient's follow-up data."""

    class Action(models.TextChoices):
        VIEW_ANSWERS = "view_answers", "Viewed answers"
        VIEW_PHOTO = "view_photo", "Viewed photo"
        ACKNOWLEDGE = "acknowledge", "Acknowledged escalation"
        RESOLVE = "resolve", "Resolved escalation"
        RESEND = "resend", "Resent check-in email"
        RECORD_ANSWERS = "record_answers", "Recorded answers by phone"
        EXPORT = "export", "Exported CSV"
        CLOSE_CLUSTER = "close_cluster", "Closed cluster signal"
        READ_COMMENT = "read_comment", "Marked a comment read"
        CHANGE_PRODUCT = "change_product", "Changed the product catalogue"
        EXPORT_RECORD = "export_record", "Exported a patient's whole record"
        ERASE = "erase", "Erased a patient's identity"
        CONTACT = "contact", "Recorded a call"
        ASSIGN = "assign", "Assigned an escalation"
        OPT_OUT = "opt_out", "Opted out of a channel"
        OPT_IN = "opt_in", "Opted back in to a channel"
        CALL_DONE = "call_done", "Called instead of a check-in"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # None for what the patient did themselves (an unsubscribe link, a STOP reply).
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              null=True, blank=True, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="audit_events")
    target = models.CharField(max_length=200, blank=True)
    # Every patient an API list returned, in the one row written for the
    # request (``patient`` is set when it returned one; ``clinic`` when all
    # were of one clinic). Null for every other event.
    patient_ids = models.JSONField(null=True, blank=True)
    # What changed, for edits: {"before": {...}, "after": {...}} (a catalogue product).
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "audit event"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor} {self.get_action_display()} {self.target}"


class Export(models.Model):
    """A CSV export built by a worker (followups.desk.exports) into the media storage.

    The file is named by a random token, never by a clinic or a patient; only
    the staff member who asked may download it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Being prepared"
        RUNNING = "running", "Being prepared"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    what = models.CharField(max_length=10)  # "queue" or "answers"
    # The one clinic chosen, or null: every clinic of the staff member's.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    start = models.DateField()
    end = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to="exports/", blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["pending", "running", "ready",
                                                           "failed"]),
                                   name="export_status_valid"),
            models.CheckConstraint(condition=Q(what__in=["queue", "answers"]),
                                   name="export_what_valid"),
        ]

    def __str__(self) -> str:
        return f"Export #{self.pk} ({self.what}, {self.start} to {self.end})"


class CallInstead(models.Model):
    """A check-in that could not be sent because the patient has no channel left: phone them.

    Never silently dropped: the check-in is ``missed`` with the reason, and
    this row keeps it on the "Call instead" list (the dashboard, the
    patient's page, ``/api/calls-instead/``) until staff mark the call done.
    """

    checkin = models.OneToOneField(CheckIn, on_delete=models.CASCADE,
                                   related_name="call_instead")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="calls_instead")
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The list of calls still to make (the dashboard, the API).
            models.Index(fields=["created_at"], name="call_instead_open",
                         condition=Q(done_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"Call instead of check-in #{self.checkin_id}"


class DashboardSnapshot(models.Model):
    """The network's dashboard counts, computed by a periodic task (``followups.desk.snapshot``).

    Counting every clinic's check-ins, answers and flags of the last 30 days
    grows with the network; a network-wide user reads these counts instead,
    labelled with ``computed_at`` ("as of HH:MM"). Counts only: no patient,
    no symptom, no name.
    """

    scope = models.CharField(max_length=20, unique=True)
    computed_at = models.DateTimeField()
    counts = models.JSONField()

    def __str__(self) -> str:
        return f"Dashboard snapshot ({self.scope}, {self.computed_at:%Y-%m-%d %H:%M})"
