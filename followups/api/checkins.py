"""REST API for check-ins (read, plus answers taken by phone); escalations are ``escalations``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.pagination import KeysetCursorPagination
from followups.api.audit import AuditedReadMixin
from followups.api.filters import CheckInFilter
from followups.assessment import symptoms
from followups.assessment.symptoms import Scale
from followups.escalations.messages import reasons_with_messages
from followups.models import (
    ASSESSMENT_LEVEL_CHOICES,
    COMMENTS_MAX_LENGTH,
    SEVERITY_CHOICES,
    TREND_CHOICES,
    CheckIn,
    CheckInResponse,
    Delivery,
)
from followups.selectors import checkins_for_user
from followups.services import CheckInClosed, response_record


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    # A declared field: DRF's metaclass takes it out of the class, so it never
    # replaces Field.source, as the stubs take it to.
    source = serializers.CharField()  # type: ignore[assignment]


class AssessmentSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=ASSESSMENT_LEVEL_CHOICES)
    reasons = ReasonSerializer(many=True)


def answer_fields() -> dict[str, serializers.Field]:
    """A field for each question of the symptom catalogue, in the order asked."""
    fields: dict[str, serializers.Field] = {}
    for symptom in symptoms.SYMPTOMS:
        fields[symptom.name] = (serializers.ChoiceField(choices=SEVERITY_CHOICES)
                                if symptom.scale is Scale.SEVERITY
                                else serializers.BooleanField())
        if symptom.trend is not None:
            fields[symptom.trend_name] = serializers.ChoiceField(
                choices=TREND_CHOICES, required=False, allow_null=True, allow_blank=True)
    return fields


class ResponseSerializer(serializers.ModelSerializer):
    """The answer fields: the same names as the patient's form and the database.

    Whether a trend is needed is the answers' own rule (``CheckInResponse.clean``),
    checked by ``response_record``: its error is a 400 naming the field.
    """

    comments = serializers.CharField(max_length=COMMENTS_MAX_LENGTH, required=False,
                                     allow_blank=True)
    assessment = serializers.SerializerMethodField()
    has_photo = serializers.SerializerMethodField()

    class Meta:
        model = CheckInResponse
        fields = ["comments", "channel", "entered_by", "submitted_at", "has_photo", "assessment"]
        read_only_fields = ["channel", "entered_by", "submitted_at"]

    def get_fields(self):
        # The answer fields first, one per question of the symptom catalogue.
        return {**answer_fields(), **super().get_fields()}

    @extend_schema_field(AssessmentSerializer)
    def get_assessment(self, response) -> dict:
        return {"level": response.assessment_level,
                "reasons": reasons_with_messages(response.assessment_reasons)}

    def get_has_photo(self, response) -> bool:
        return bool(response.photo)


class DeliverySerializer(serializers.ModelSerializer):
    """One message sent for a check-in, through one channel, and where it stands."""

    class Meta:
        model = Delivery
        fields = ["channel", "status", "at", "error"]
        read_only_fields = fields
        extra_kwargs = {
            "channel": {"help_text": "The channel it went through: email."},
            "at": {"help_text": "When it reached its status (sent or queued, then delivered "
                                "or failed)."},
            "error": {"help_text": "Why it failed, as the provider said (a bounce)."},
        }


class CheckInSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="session.patient_id", read_only=True)
    delivery_error = serializers.CharField(
        source="last_error", read_only=True,
        help_text="Why the last send failed; for a failed check-in, e.g. a bounce.")
    next_attempt_at = serializers.DateTimeField(
        source="next_action_at", read_only=True, allow_null=True,
        help_text="When the next send, retry or reminder is due; null once final.")
    response = serializers.SerializerMethodField()
    deliveries = DeliverySerializer(many=True, read_only=True,
                                    help_text="One per message sent, oldest first.")

    class Meta:
        model = CheckIn
        fields = ["id", "session", "patient", "day", "due_at", "status", "sent_at",
                  "completed_at", "delivery_error", "next_attempt_at", "response", "deliveries"]

    @extend_schema_field(ResponseSerializer(allow_null=True))
    def get_response(self, checkin):
        try:
            response = checkin.response
        except CheckInResponse.DoesNotExist:
            return None
        return ResponseSerializer(response, context=self.context).data


class CheckInViewSet(AuditedReadMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = CheckInSerializer
    # Grows without bound: a cursor, not page numbers (docs/deployment.md, "Scale").
    pagination_class = KeysetCursorPagination
    filterset_class = CheckInFilter
    audit_patient = "session.patient_id"

    def get_queryset(self):
        return checkins_for_user(self.request.user).order_by("due_at", "id")

    # The action's name is its URL. DRF's dispatch() sets self.response (a class
    # attribute in the stubs) only once the action has returned.
    @extend_schema(request=ResponseSerializer, responses={201: ResponseSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def response(self, request, pk=None):  # type: ignore[override]
        """Record answers a patient gave by phone; returns them with their assessment."""
        checkin = self.get_object()
        serializer = ResponseSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        try:
            stored = response_record(checkin=checkin, answers=serializer.validated_data,
                                     channel=CheckInResponse.Channel.STAFF,
                                     entered_by=request.user)
        except CheckInClosed:
            checkin.refresh_from_db()
            return Response(
                {"detail": f"This check-in is {checkin.status}: it cannot take answers."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(ResponseSerializer(stored, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


@extend_schema_field(ReasonSerializer(many=True))
class ReasonsField(serializers.JSONField):
    """Reasons are stored as codes and parameters; each message is written as it is read."""

    def to_representation(self, value):
        return reasons_with_messages(value)
