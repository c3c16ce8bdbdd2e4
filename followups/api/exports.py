"""/api/exports/: ask for a CSV export of any size, see when it is ready, fetch it.

The same exports as the admin's page (followups.desk.exports): always built
by a worker here, since an API client can poll. Each is the caller's own.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from followups.desk import exports
from followups.desk.views import MAX_EXPORT_DAYS
from followups.models import Export
from patients.models import Clinic
from patients.selectors import clinics_for_user


class OwnClinicField(serializers.PrimaryKeyRelatedField):
    """One of the caller's clinics: another clinic's id is a 400, as an unknown one."""

    def get_queryset(self):
        request = self.context.get("request")
        return clinics_for_user(request.user) if request else Clinic.objects.none()


class ExportSerializer(serializers.ModelSerializer):
    what = serializers.ChoiceField(choices=["queue", "answers"])
    clinic = OwnClinicField(required=False, allow_null=True)
    download = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = ["id", "what", "clinic", "start", "end", "status", "rows", "created_at",
                  "finished_at", "download"]
        read_only_fields = ["id", "status", "rows", "created_at", "finished_at", "download"]

    def get_download(self, export) -> str | None:
        request = self.context.get("request")
        if export.status != Export.Status.READY or request is None:
            return None
        return request.build_absolute_uri(f"/api/exports/{export.pk}/download/")

    def validate(self, attrs):
        start, end = attrs["start"], attrs["end"]
        if end < start:
            raise serializers.ValidationError({"end": "The end date is before the start date."})
        if (end - start).days >= MAX_EXPORT_DAYS:
            raise serializers.ValidationError(
                {"end": f"Export at most {MAX_EXPORT_DAYS} days at a time."})
        return attrs


class ExportViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                    mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ExportSerializer
    queryset = Export.objects.none()  # the schema's model; requests use get_queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the schema
            return Export.objects.none()
        return exports.exports_for_user(self.request.user).select_related("clinic")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        export = exports.export_request(user=request.user, what=data["what"],
                                        clinic=data.get("clinic"), start=data["start"],
                                        end=data["end"])
        return Response(self.get_serializer(export).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(description="The CSV file"),
                              404: None})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        export = self.get_object()
        if export.status != Export.Status.READY:
            raise Http404("Not ready yet: follow the export's status.")
        return exports.export_file_response(export)
