"""The "Call instead" list: check-ins that could not go to a patient with no channel left."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from followups.consent.selectors import calls_instead_for_user
from followups.consent.services import call_instead_done
from followups.models import CallInstead


class CallInsteadSerializer(serializers.ModelSerializer):
    patient = serializers.IntegerField(source="patient_id", read_only=True)
    checkin = serializers.IntegerField(source="checkin_id", read_only=True)
    day = serializers.IntegerField(source="checkin.day", read_only=True)
    due_at = serializers.DateTimeField(source="checkin.due_at", read_only=True)

    class Meta:
        model = CallInstead
        fields = ["id", "patient", "checkin", "day", "due_at", "created_at", "done_at"]


class CallInsteadViewSet(viewsets.ReadOnlyModelViewSet):
    """Patients to phone because no message can reach them; listed until the call is done."""

    serializer_class = CallInsteadSerializer

    def get_queryset(self):
        queryset = calls_instead_for_user(self.request.user)
        if self.action == "list":
            queryset = queryset.filter(done_at__isnull=True)
        return queryset

    @extend_schema(request=None, responses={200: CallInsteadSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        call = self.get_object()
        try:
            call = call_instead_done(call=call, actor=request.user)
        except DjangoValidationError as error:
            return Response({"detail": " ".join(error.messages)}, status=status.HTTP_409_CONFLICT)
        return Response(CallInsteadSerializer(call).data)
