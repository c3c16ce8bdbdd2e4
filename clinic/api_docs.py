"""The OpenAPI document (/api/schema/) and its browser (/api/docs/), for signed-in staff only.

Who may read them is the API's own rule (SPECTACULAR_SETTINGS' SERVE_PERMISSIONS:
a clinic's staff or a superuser, by token or by a session with its second
factor). A browser that is not signed in is sent to the admin's sign-in and
back, rather than shown a bare 401.

The browser page is Swagger UI as drf-spectacular serves it for strict
Content-Security-Policies: its start-up script is a file of its own from this
server (``?script``), not inline, so the policy needs no 'unsafe-inline' script.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import exceptions


class ApiDocsView(SpectacularSwaggerSplitView):
    def handle_exception(self, exc):
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            return redirect_to_login(self.request.get_full_path(), reverse("admin:login"))
        return super().handle_exception(exc)
