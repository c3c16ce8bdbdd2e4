from django.urls import path
from rest_framework.routers import DefaultRouter

from followups.api.calls import CallInsteadViewSet
from followups.api.checkins import CheckInViewSet
from followups.api.escalations import EscalationViewSet, MetricsView
from followups.api.exports import ExportViewSet
from followups.api.patients import ClinicViewSet, PatientViewSet, ProductViewSet, SessionViewSet
from followups.webhooks.api import WebhookViewSet

router = DefaultRouter()
router.register("clinics", ClinicViewSet, basename="clinic")
router.register("patients", PatientViewSet, basename="patient")
router.register("products", ProductViewSet, basename="product")
router.register("sessions", SessionViewSet, basename="session")
router.register("checkins", CheckInViewSet, basename="checkin")
router.register("escalations", EscalationViewSet, basename="escalation")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("exports", ExportViewSet, basename="export")
router.register("calls-instead", CallInsteadViewSet, basename="call-instead")

urlpatterns = [
    path("metrics/", MetricsView.as_view(), name="metrics"),
    *router.urls,
]
