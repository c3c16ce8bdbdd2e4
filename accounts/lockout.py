"""What a locked-out sign-in gets (django-axes' AXES_LOCKOUT_CALLABLE), and whose address it is.

The API's token endpoint answers 429 in JSON; the admin's sign-in a page
saying for how long. Both carry Retry-After. The attempt itself is recorded
by django-axes with the username and address, never the password or the code
(AXES_SENSITIVE_PARAMETERS).
"""

from __future__ import annotations

import math

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template.response import TemplateResponse


def lockout_minutes() -> int:
    return math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)


def lockout_response(request, original_response=None, credentials=None):
    minutes = lockout_minutes()
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"detail": f"Too many failed sign-ins: locked for {minutes} minutes."}, status=429
        )
    else:
        from django.contrib import admin

        response = TemplateResponse(
            request, "otp/locked_out.html",
            {**admin.site.each_context(request), "title": "Sign-in locked", "minutes": minutes},
            status=429,
        )
        response.render()
    response["Retry-After"] = str(minutes * 60)
    response["Cache-Control"] = "no-store"
    return response
