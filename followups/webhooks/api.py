"""/api/webhooks/: a clinic's webhooks, for its managers and superusers.

The secret is in the answer to the create only: afterwards nobody reads it
back (a lost secret means a new webhook).
"""

from __future__ import annotations

from rest_framework import serializers, viewsets

from followups.api.patients import ClinicField
from followups.webhooks import services
from followups.webhooks.models import Event, Webhook
from patients.permissions import IsClinicManager
from patients.selectors import user_managed_clinic_ids


class WebhookSerializer(serializers.ModelSerializer):
    clinic = ClinicField()
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices),
                                   allow_empty=False, max_length=len(Event.values))

    class Meta:
        model = Webhook
        fields = ["id", "clinic", "url", "events", "active", "last_error"]
        read_only_fields = ["active", "last_error"]


class WebhookCreatedSerializer(WebhookSerializer):
    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = ["active", "last_error", "secret"]


class WebhookViewSet(viewsets.ModelViewSet):
    permission_classes = [IsClinicManager]
    serializer_class = WebhookSerializer
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Webhook.objects.filter(
            clinic_id__in=user_managed_clinic_ids(self.request.user)).order_by("id")

    def get_serializer_class(self):
        return WebhookCreatedSerializer if self.action == "create" else WebhookSerializer

    def perform_create(self, serializer):
        serializer.instance = services.webhook_create(actor=self.request.user,
                                                      data=serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.webhook_update(actor=self.request.user,
                                                      webhook=serializer.instance,
                                                      data=serializer.validated_data)
