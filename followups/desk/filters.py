"""The list filters of the follow-ups admin: the queue, check-ins and answers.

Their class names and ``parameter_name`` are what admin URLs carry
(``?status=all``, ``?ack=overdue``): bookmarks and the dashboard's links rely on them.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.utils import timezone

from followups.assessment.rules import Level
from followups.desk.dashboard import local_days_q
from followups.escalations.comments import comments_overdue_q
from followups.models import Escalation
from followups.selectors import undelivered_alerts_q
from patients.models import Product, ProductApplication
from patients.selectors import clinics_for_user


class EscalationStatusFilter(admin.SimpleListFilter):
    """Default: not resolved (open or acknowledged). "All" is one click away."""

    title = "status"
    parameter_name = "status"
    UNRESOLVED = (Escalation.Status.OPEN, Escalation.Status.ACKNOWLEDGED)

    def lookups(self, request, model_admin):
        return [*Escalation.Status.choices, ("all", "All, including resolved")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "all":
            return queryset
        if value in Escalation.Status.values:
            return queryset.filter(status=value)
        return queryset.filter(status__in=self.UNRESOLVED)

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Not resolved (default)",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class AssignedFilter(admin.SimpleListFilter):
    """"Mine": the flags assigned to the signed-in user."""

    title = "assigned to"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("mine", "Mine"), ("nobody", "Nobody yet")]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.filter(assigned_to=request.user)
        if self.value() == "nobody":
            return queryset.filter(assigned_to__isnull=True)
        return queryset


class AckDeadlineFilter(admin.SimpleListFilter):
    title = "acknowledgement deadline"
    parameter_name = "ack"

    def lookups(self, request, model_admin):
        minutes = int(settings.URGENT_ACK_DEADLINE.total_seconds() // 60)
        return [("overdue", f"Urgent, open for more than {minutes} min")]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.filter(level=Level.URGENT.label, status=Escalation.Status.OPEN,
                                   created_at__lt=timezone.now() - settings.URGENT_ACK_DEADLINE)
        return queryset


class AlertFilter(admin.SimpleListFilter):
    title = "alert email"
    parameter_name = "alert"

    def lookups(self, request, model_admin):
        return [("undelivered", "Urgent alert not delivered")]

    def queryset(self, request, queryset):
        if self.value() == "undelivered":
            return queryset.filter(undelivered_alerts_q())
        return queryset


class DayFilter(admin.SimpleListFilter):
    title = "check-in day"
    parameter_name = "day"
    field_path = "day"

    @staticmethod
    def _days() -> tuple[int, ...]:
        # Day 2 and day 7, and the watch check-in (day 10): who is being watched.
        return (*settings.CHECKIN_DAYS, settings.CHECKIN_WATCH_DAY)

    def lookups(self, request, model_admin):
        return [(str(day), f"Day {day} (watch)" if day == settings.CHECKIN_WATCH_DAY
                 else f"Day {day}") for day in self._days()]

    def queryset(self, request, queryset):
        value = self.value()
        if value in {str(day) for day in self._days()}:
            return queryset.filter(**{self.field_path: int(value)})
        return queryset


class EscalationDayFilter(DayFilter):
    field_path = "checkin__day"


class ProductFilter(admin.SimpleListFilter):
    """Rows whose session used the product; a subquery, so no DISTINCT on the list."""

    title = "product used"
    parameter_name = "product"
    session_path = "session"

    def lookups(self, request, model_admin):
        return list(Product.objects.order_by("name").values_list("pk", "name"))

    def queryset(self, request, queryset):
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        sessions = ProductApplication.objects.filter(product_id=int(value)).values("session_id")
        return queryset.filter(**{f"{self.session_path}__in": sessions})


class DueFilter(admin.SimpleListFilter):
    title = "due"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("today", "Today (clinic's local day)"), ("7d", "Past 7 days"),
                ("30d", "Past 30 days")]

    def queryset(self, request, queryset):
        value, now = self.value(), timezone.now()
        if value == "today":
            return queryset.filter(local_days_q(
                clinics_for_user(request.user), clinic_field="clinic",
                time_field="due_at", now=now,
            ))
        if value in ("7d", "30d"):
            days = 7 if value == "7d" else 30
            return queryset.filter(due_at__gte=now - timedelta(days=days), due_at__lt=now)
        return queryset


class AssessmentFilter(admin.SimpleListFilter):
    title = "assessment"
    parameter_name = "assessment"

    def lookups(self, request, model_admin):
        # The most pressing first; "none" is what staff read as nothing to flag.
        return [(level.label, "Nothing to flag" if level == Level.NONE else label)
                for level, (_value, label) in reversed(list(zip(Level, Level.choices(),
                                                                strict=True)))]

    def queryset(self, request, queryset):
        if self.value() in {level.label for level in Level}:
            return queryset.filter(assessment_level=self.value())
        return queryset


class CommentFilter(admin.SimpleListFilter):
    """Comments waiting for a person to read them (followups.escalations.comments)."""

    title = "comment"
    parameter_name = "comment"

    def lookups(self, request, model_admin):
        return [("to_read", "To read"), ("overdue", "To read, overdue (over a business day)"),
                ("read", "Marked read")]

    def queryset(self, request, queryset):
        if self.value() == "to_read":
            return queryset.filter(comment_waiting=True)
        if self.value() == "overdue":
            return queryset.filter(comments_overdue_q(clinics_for_user(request.user),
                                                      now=timezone.now(), clinic_field="clinic"))
        if self.value() == "read":
            return queryset.filter(comment_read_at__isnull=False)
        return queryset
