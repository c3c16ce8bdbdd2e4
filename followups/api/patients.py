"""REST API for clinics, patients, products and sessions. Writes go through services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from core.api_limits import BoundedListField, BoundedListSerializer
from followups import sessions
from followups.api.audit import AuditedReadMixin
from followups.api.checkins import CheckInSerializer
from followups.api.filters import PatientFilter, SessionFilter
from followups.api.history import ADDITION, CHANGE, DELETION, api_history_record, changed_fields
from followups.assessment.ingredients import allergy_refusal
from followups.assessment.rules import ESCALATION_LEVELS, Level
from followups.records.erasure import patient_erase
from followups.records.export import patient_record_export
from followups.records.models import ERASURE_REASON_MAX_LENGTH, PatientErasure
from followups.selectors import (
    patients_for_user,
    planned_allergy_warnings,
    session_allergy_warnings,
    sessions_for_user,
)
from patients import services
from patients.models import (
    MAX_INGREDIENT_LENGTH,
    MAX_INGREDIENTS,
    Clinic,
    ContactBy,
    Patient,
    Product,
    ProductApplication,
    TreatmentSession,
)
from patients.permissions import CatalogueManagerOrReadOnly, IsClinicStaff
from patients.selectors import clinics_for_user, user_clinic_ids, user_managed_clinic_ids

MAX_PRODUCTS_PER_SESSION = 30


def session_products(child: serializers.BaseSerializer, **kwargs) -> BoundedListSerializer:
    """A session's products: each is looked up, so their count is checked first."""
    return BoundedListSerializer(
        child=child, max_length=MAX_PRODUCTS_PER_SESSION,
        error_messages={"max_length": "At most {max_length} products per session."}, **kwargs)


class IngredientList(BoundedListField):
    child = serializers.CharField(max_length=MAX_INGREDIENT_LENGTH, allow_blank=False)

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_INGREDIENTS)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


class ClinicSerializer(serializers.ModelSerializer):
    on_call_phone = serializers.SerializerMethodField()

    class Meta:
        model = Clinic
        fields = ["id", "name", "timezone", "phone", "email", "send_hour", "on_call_phone"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_on_call_phone(self, clinic) -> str | None:
        return str(clinic.on_call_phone) if clinic.on_call_phone else None


class ClinicViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ClinicSerializer

    def get_queryset(self):
        return clinics_for_user(self.request.user).order_by("name")


class ClinicField(serializers.PrimaryKeyRelatedField):
    """A clinic the caller belongs to; any other clinic is a 400 on write."""

    def get_queryset(self):
        return Clinic.objects.all()

    def to_internal_value(self, data):
        clinic = super().to_internal_value(data)
        user = self.context["request"].user
        if not user.is_superuser and clinic.id not in user_clinic_ids(user):
            raise serializers.ValidationError("You can only write to clinics you belong to.")
        return clinic


class OptOutSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=["email", "sms"])
    at = serializers.DateTimeField()
    how = serializers.CharField()


class PatientSerializer(serializers.ModelSerializer):
    clinic = ClinicField()
    known_allergies = IngredientList()
    # Read in the clinic's country by the model (patients/phones.py); E.164 back.
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    contact_by = serializers.ChoiceField(choices=ContactBy.choices, required=False)
    opted_out = serializers.SerializerMethodField()
    open_escalation_level = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = ["id", "clinic", "first_name", "last_name", "email", "phone", "date_of_birth",
                  "known_allergies", "acne_prone", "language", "contact_by", "opted_out",
                  "notes", "open_escalation_level"]

    @extend_schema_field(OptOutSerializer(many=True))
    def get_opted_out(self, patient) -> list[dict]:
        return [{"channel": channel, "at": at, "how": how} for channel, at, how in (
            ("email", patient.email_opted_out_at, patient.email_opted_out_how),
            ("sms", patient.sms_opted_out_at, patient.sms_opted_out_how)) if at is not None]

    def validate_known_allergies(self, value: list[str]) -> list[str]:
        # The one check of followups.assessment.ingredients, as in the admin's form.
        refusal = allergy_refusal(value)
        if refusal:
            raise serializers.ValidationError(refusal)
        return value

    @extend_schema_field(serializers.ChoiceField(
        choices=[Level.NONE.label, *(level.label for level in ESCALATION_LEVELS)]))
    def get_open_escalation_level(self, patient) -> str:
        return getattr(patient, "open_escalation_level", Level.NONE.label)


class EraseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=ERASURE_REASON_MAX_LENGTH)


class ErasureSerializer(serializers.ModelSerializer):
    class Meta:
        model = PatientErasure
        fields = ["patient", "erased_at", "erased_by", "trigger", "reason", "photos_deleted"]


class PatientViewSet(AuditedReadMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
                     viewsets.ReadOnlyModelViewSet):
    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    audit_patient = "pk"

    def get_queryset(self):
        return patients_for_user(self.request.user).order_by("last_name", "first_name", "id")

    def perform_create(self, serializer):
        serializer.instance = services.patient_create(actor=self.request.user,
                                                      data=serializer.validated_data)
        api_history_record(actor=self.request.user, obj=serializer.instance,
                           action_flag=ADDITION)

    @extend_schema(responses={200: OpenApiTypes.OBJECT},
                   description="The patient's whole record as a FHIR R4 Bundle (collection), "
                               "photos as Media; audited as a read of everything.")
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        bundle = patient_record_export(actor=request.user, patient=self.get_object(),
                                       base_url=request.build_absolute_uri("/fhir/R4").rstrip("/"))
        return Response(bundle, content_type="application/fhir+json")

    @extend_schema(request=EraseSerializer, responses={200: ErasureSerializer},
                   description="Irreversible: the patient's identity, contact details, free "
                               "text and photos are removed; de-identified answers and flags "
                               "stay. A clinic manager of the patient's clinic, or a superuser.")
    @action(detail=True, methods=["post"])
    def erase(self, request, pk=None):
        patient = self.get_object()
        if patient.clinic_id not in user_managed_clinic_ids(request.user):
            raise PermissionDenied("Only a manager of the patient's clinic or a superuser "
                                   "may erase a patient.")
        serializer = EraseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        erasure = patient_erase(patient=patient, actor=request.user,
                                reason=serializer.validated_data["reason"])
        return Response(ErasureSerializer(erasure).data)

    def perform_update(self, serializer):
        names = list(serializer.validated_data)
        before = {name: getattr(serializer.instance, name) for name in names}
        serializer.instance = services.patient_update(
            actor=self.request.user, patient=serializer.instance, data=serializer.validated_data
        )
        api_history_record(actor=self.request.user, obj=serializer.instance, action_flag=CHANGE,
                           fields=changed_fields(before=before, after_obj=serializer.instance,
                                                 names=names))


class ProductSerializer(serializers.ModelSerializer):
    ingredients = IngredientList()

    class Meta:
        model = Product
        fields = ["id", "name", "kind", "ingredients"]


class ProductViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin,
                     viewsets.ReadOnlyModelViewSet):
    """The shared catalogue: read by clinic staff (a write is 403), changed by its managers.

    Every change is audited with before and after; sessions already saved keep
    the ingredients they recorded.
    """

    serializer_class = ProductSerializer
    queryset = Product.objects.order_by("name")
    permission_classes = [IsClinicStaff, CatalogueManagerOrReadOnly]

    def perform_create(self, serializer):
        data = serializer.validated_data
        # `ingredients` may be left out of the body: a product with none listed.
        serializer.instance = sessions.product_create(
            name=data["name"], kind=data["kind"], ingredients=data.get("ingredients", []),
            actor=self.request.user,
        )

    def perform_update(self, serializer):
        serializer.instance = sessions.product_update(product=serializer.instance,
                                                      data=serializer.validated_data,
                                                      actor=self.request.user)


class ProductApplicationSerializer(serializers.ModelSerializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    lot_number = serializers.CharField(max_length=64, allow_blank=False)
    # As recorded when the session was saved, whatever the catalogue says today.
    ingredients = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = ProductApplication
        fields = ["product", "phase", "lot_number", "ingredients"]


class PlannedProductSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    phase = serializers.ChoiceField(choices=ProductApplication.Phase.choices, required=False)
    lot_number = serializers.CharField(max_length=64, required=False, allow_blank=True)


@extend_schema_field(OpenApiTypes.INT)
class _OwnPatientField(serializers.PrimaryKeyRelatedField):
    """A patient of the caller's clinics; any other is a 400 naming the field."""

    def get_queryset(self):
        return patients_for_user(self.context["request"].user)


class AllergyCheckSerializer(serializers.Serializer):
    """A session not yet saved: its patient and the products chosen for it."""

    patient = _OwnPatientField()
    products = session_products(PlannedProductSerializer())


class AllergyMatchSerializer(serializers.Serializer):
    """Which of the patient's allergies, as recorded, matched which ingredient, as labelled."""

    allergy = serializers.CharField()
    ingredient = serializers.CharField()


class AllergyWarningSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    product_name = serializers.CharField()
    lot_number = serializers.CharField()
    ingredients = serializers.ListField(child=serializers.CharField())
    matches = AllergyMatchSerializer(many=True)
    message = serializers.CharField()


class PatientOfUserField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return patients_for_user(self.context["request"].user)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time with its offset; a time without one is refused.

    DRF would read a naive time as UTC, silently moving a clinic's check-ins
    by its offset; the service refuses naive times but never sees the raw text.
    """

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None  # a well-formed but impossible date: DRF says so
            if parsed is not None and timezone.is_naive(parsed):
                raise serializers.ValidationError(
                    "Give a time zone offset, e.g. 2025-03-01T10:30:00+01:00."
                )
        return super().to_internal_value(value)


class SessionSerializer(serializers.ModelSerializer):
    patient = PatientOfUserField()
    performed_at = AwareDateTimeField()
    # Read only, so no queryset says what it points to: a staff user.
    practitioner: serializers.PrimaryKeyRelatedField[User] = (
        serializers.PrimaryKeyRelatedField(read_only=True)
    )
    products = session_products(ProductApplicationSerializer(), source="applications",
                                required=False)
    needle_depth_mm = serializers.DecimalField(max_digits=3, decimal_places=2,
                                               min_value=Decimal("0.01"),
                                               max_value=Decimal("3.0"))
    allergy_warnings = serializers.SerializerMethodField()
    checkins = serializers.SerializerMethodField()
    cancelled_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = TreatmentSession
        fields = ["id", "patient", "performed_at", "practitioner", "treatment_area", "device",
                  "needle_depth_mm", "notes", "products", "allergy_warnings", "checkins",
                  "cancelled_at"]

    def validate_performed_at(self, value):
        # The last check-in's date must exist on the calendar (year 9999 would
        # overflow while scheduling it).
        try:
            value + timedelta(days=max(settings.CHECKIN_DAYS) + 2)
            value - timedelta(days=1)
        except OverflowError:
            raise serializers.ValidationError(
                "Too far in the past or the future to schedule check-ins."
            ) from None
        return value

    @extend_schema_field(AllergyWarningSerializer(many=True))
    def get_allergy_warnings(self, session) -> list[dict]:
        return session_allergy_warnings(session)

    @extend_schema_field(CheckInSerializer(many=True))
    def get_checkins(self, session) -> list[dict]:
        # many=True makes a ListSerializer, whose data is a list; the stubs keep the
        # one serializer's dict.
        return CheckInSerializer(session.checkins.all(), many=True,
                                 context=self.context).data  # type: ignore[return-value]


class SessionViewSet(AuditedReadMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
                     mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Microneedling sessions. DELETE cancels a session and its open check-ins."""

    serializer_class = SessionSerializer
    filterset_class = SessionFilter

    def get_queryset(self):
        return sessions_for_user(self.request.user).order_by("-performed_at", "-id")

    def _session_data(self, validated: dict) -> dict:
        data = dict(validated)
        if "applications" in data:
            data["products"] = data.pop("applications")
        return data

    def perform_create(self, serializer):
        data = self._session_data(serializer.validated_data)
        serializer.instance = sessions.session_create(
            actor=self.request.user, practitioner=self.request.user, **data
        )
        api_history_record(actor=self.request.user, obj=serializer.instance,
                           action_flag=ADDITION)

    def perform_update(self, serializer):
        data = self._session_data(serializer.validated_data)
        scalars = [name for name in data if name != "products"]
        before = {name: getattr(serializer.instance, name) for name in scalars}
        serializer.instance = sessions.session_update(
            actor=self.request.user, session=serializer.instance, data=data,
        )
        fields = changed_fields(before=before, after_obj=serializer.instance, names=scalars)
        api_history_record(actor=self.request.user, obj=serializer.instance, action_flag=CHANGE,
                           fields=fields + (["products"] if "products" in data else []))

    def _saved(self, serializer: serializers.BaseSerializer) -> TreatmentSession:
        """The session perform_create or perform_update saved, read as the list reads it."""
        if serializer.instance is None:
            raise RuntimeError("the session was not saved")
        return self.get_queryset().get(pk=serializer.instance.pk)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        session = self._saved(serializer)
        return Response(self.get_serializer(session).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)
        session = self._saved(serializer)
        return Response(self.get_serializer(session).data)

    @extend_schema(
        request=AllergyCheckSerializer,
        responses={200: inline_serializer("AllergyCheck", {
            "allergy_warnings": AllergyWarningSerializer(many=True)})},
    )
    @action(detail=False, methods=["post"], url_path="allergy-warnings")
    def allergy_warnings(self, request):
        """The allergy warnings a session would carry, before it is saved; nothing is saved.

        The same matcher as a saved session's ``allergy_warnings`` and the
        ALLERGY rule (docs/ingredient-matching.md), against the products'
        ingredients now, which saving would record.
        """
        serializer = AllergyCheckSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return Response({"allergy_warnings": planned_allergy_warnings(
            patient=data["patient"], products=data["products"])})

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        session = self.get_object()
        sessions.session_cancel(actor=request.user, session=session)
        api_history_record(actor=request.user, obj=session, action_flag=DELETION)
        return Response(status=status.HTTP_204_NO_CONTENT)
