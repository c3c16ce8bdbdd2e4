"""REST API for escalations: the queue, handling, calls recorded, assignment; the desk's figures."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import KeysetCursorPagination
from followups.api.audit import AuditedReadMixin
from followups.api.checkins import ReasonSerializer
from followups.api.filters import EscalationFilter
from followups.delivery import clock
from followups.escalations.contacts import contact_record, escalation_assign
from followups.escalations.messages import reasons_with_messages
from followups.escalations.services import escalation_acknowledge, escalation_resolve
from followups.metrics import DEFAULT_DAYS, MAX_DAYS, desk_metrics
from followups.models import (
    CONTACT_NOTE_MAX_LENGTH,
    RESOLUTION_NOTE_MAX_LENGTH,
    ContactAttempt,
    Escalation,
)
from followups.selectors import escalations_for_user
from patients.selectors import clinics_for_user

NOTE_REQUIRED = "Say what was done: a resolution note is required."


@extend_schema_field(ReasonSerializer(many=True))
class ReasonsField(serializers.JSONField):
    """Reasons are stored as codes and parameters; each message is written as it is read."""

    def to_representation(self, value):
        return reasons_with_messages(value)


class ContactSerializer(serializers.ModelSerializer):
    outcome = serializers.ChoiceField(choices=ContactAttempt.Outcome.choices)
    note = serializers.CharField(max_length=CONTACT_NOTE_MAX_LENGTH, required=False,
                                 allow_blank=True, default="")
    next_attempt_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    class Meta:
        model = ContactAttempt
        fields = ["id", "outcome", "note", "next_attempt_at", "by", "at"]
        read_only_fields = ["id", "by", "at"]


class EscalationSerializer(serializers.ModelSerializer):
    reasons = ReasonsField(read_only=True)
    contacts = ContactSerializer(many=True, read_only=True)

    class Meta:
        model = Escalation
        fields = ["id", "patient", "session", "checkin", "level", "status", "reasons",
                  "created_at", "acknowledged_by", "acknowledged_at", "resolved_by",
                  "resolved_at", "resolution_note", "assigned_to", "contacts",
                  "next_attempt_at"]
        read_only_fields = fields


class ResolveSerializer(serializers.Serializer):
    # A CharField, not request.data["note"]: a note with a NUL character is a
    # 400 here instead of a database error (PostgreSQL refuses NUL in text).
    note = serializers.CharField(max_length=RESOLUTION_NOTE_MAX_LENGTH, error_messages={
        "required": NOTE_REQUIRED, "blank": NOTE_REQUIRED, "null": NOTE_REQUIRED,
    })


class AssignSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all(),
                                              allow_null=True)


class EscalationViewSet(AuditedReadMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = EscalationSerializer
    # Grows without bound: a cursor, not page numbers (docs/deployment.md, "Scale").
    pagination_class = KeysetCursorPagination
    filterset_class = EscalationFilter

    def get_queryset(self):
        return escalations_for_user(self.request.user).prefetch_related(
            Prefetch("contacts", queryset=ContactAttempt.objects.order_by("at", "id")))

    def _handled(self, work):
        try:
            escalation = work()
        except DjangoValidationError as error:
            if hasattr(error, "message_dict"):
                raise ValidationError(error.message_dict) from None
            return Response({"detail": " ".join(error.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(EscalationSerializer(self.get_queryset().get(pk=escalation.pk)).data)

    @extend_schema(request=None, responses={200: EscalationSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        escalation = self.get_object()
        return self._handled(lambda: escalation_acknowledge(escalation=escalation,
                                                            actor=request.user))

    @extend_schema(
        request=ResolveSerializer,
        responses={200: EscalationSerializer, 400: None, 409: None},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        escalation = self.get_object()
        serializer = ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = serializer.validated_data["note"]
        return self._handled(lambda: escalation_resolve(escalation=escalation,
                                                        actor=request.user, note=note))

    @extend_schema(request=AssignSerializer,
                   responses={200: EscalationSerializer, 400: None, 409: None})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Assign the escalation to a staff member of its clinic; ``{"user": null}`` unassigns."""
        escalation = self.get_object()
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        return self._handled(lambda: escalation_assign(escalation=escalation,
                                                       actor=request.user, user=user))

    @extend_schema(methods=["GET"], responses={200: ContactSerializer(many=True)})
    @extend_schema(methods=["POST"], request=ContactSerializer,
                   responses={201: ContactSerializer, 400: None, 409: None})
    @action(detail=True, methods=["get", "post"])
    def contacts(self, request, pk=None):
        """The calls recorded for this escalation; POST records one (and acknowledges it)."""
        escalation = self.get_object()
        if request.method == "GET":
            return Response(ContactSerializer(escalation.contacts.all(), many=True).data)
        serializer = ContactSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            contact = contact_record(escalation=escalation, actor=request.user,
                                     outcome=data["outcome"], note=data["note"],
                                     next_attempt_at=data["next_attempt_at"])
        except DjangoValidationError as error:
            if hasattr(error, "message_dict"):
                raise ValidationError(error.message_dict) from None
            return Response({"detail": " ".join(error.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


class MetricsQuerySerializer(serializers.Serializer):
    clinic = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    days = serializers.IntegerField(required=False, min_value=1, max_value=MAX_DAYS,
                                    default=DEFAULT_DAYS)


class RatesSerializer(serializers.Serializer):
    sent = serializers.IntegerField()
    answered = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True)


class MetricsSerializer(serializers.Serializer):
    """The desk's figures (docs/desk.md says how each is counted)."""

    days = serializers.IntegerField()
    checkins_sent = serializers.IntegerField()
    answered = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True)
    by_channel = serializers.DictField(child=RatesSerializer())
    by_day = serializers.DictField(child=RatesSerializer())
    flagged_rate = serializers.FloatField(allow_null=True)
    flagged_rate_by_level = serializers.DictField(
        child=serializers.FloatField(allow_null=True))
    median_minutes_to_first_contact = serializers.FloatField(allow_null=True)
    p90_minutes_to_first_contact = serializers.FloatField(allow_null=True)
    median_minutes_to_resolution = serializers.FloatField(allow_null=True)
    urgent_uncontacted_2h = serializers.IntegerField()
    comments_overdue = serializers.IntegerField()


class MetricsView(APIView):
    """The desk's figures over the last ``days`` (default 30), at the user's clinics."""

    @extend_schema(
        parameters=[
            OpenApiParameter("clinic", int, description="Only this clinic (one of yours)."),
            OpenApiParameter("days", int, description=f"The window, 1 to {MAX_DAYS} days; "
                                                      f"default {DEFAULT_DAYS}."),
        ],
        responses={200: MetricsSerializer, 400: None},
    )
    def get(self, request):
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        clinics = list(clinics_for_user(request.user).order_by("pk"))
        if "clinic" in query.validated_data:
            clinics = [clinic for clinic in clinics if clinic.pk == query.validated_data["clinic"]]
            if not clinics:
                raise ValidationError({"clinic": "No clinic of yours has this id."})
        return Response(desk_metrics(clinics=clinics, now=clock.database_now(),
                                     days=query.validated_data["days"]))
