from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from accounts.api import LogoutView, TokenView
from clinic.api_docs import ApiDocsView
from clinic.views import healthz, readyz
from followups.delivery.channels import channels_urlpatterns

# A database busy or away is a 503 with Retry-After, never a plain 500 (clinic.views).
handler500 = "clinic.views.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/token/", TokenView.as_view(), name="api-token"),
    path("api/auth/logout/", LogoutView.as_view(), name="api-logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("clinic.api_urls")),
    path("fhir/R4/", include("followups.records.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("", include("followups.link.urls")),
    # The unsubscribe link of every email (RFC 8058 one-click, and a page).
    path("", include("followups.consent.urls")),
    # Each channel's provider callbacks: an email provider's bounces under /anymail/
    # (followups.delivery.channels.email), served only with its webhook secret;
    # Twilio's signed status and inbound callbacks under /sms/twilio/.
    *channels_urlpatterns(),
]
