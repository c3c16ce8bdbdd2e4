from rest_framework.routers import DefaultRouter

from followups.api.calls import CallInsteadViewSet
from followups.api.checkins import CheckInViewSet, EscalationViewSet
from followups.api.patients import ClinicViewSet, PatientViewSet, ProductViewSet, SessionViewSet

router = DefaultRouter()
router.register("clinics", ClinicViewSet, basename="clinic")
router.register("patients", PatientViewSet, basename="patient")
router.register("products", ProductViewSet, basename="product")
router.register("sessions", SessionViewSet, basename="session")
router.register("checkins", CheckInViewSet, basename="checkin")
router.register("escalations", EscalationViewSet, basename="escalation")
router.register("calls-instead", CallInsteadViewSet, basename="call-instead")

urlpatterns = router.urls
