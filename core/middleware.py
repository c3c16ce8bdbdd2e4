"""Request and response plumbing that every app relies on (imports no app).

- NUL characters in the query string are refused with a 400 before any view
  (and a cookie holding one is dropped):
  PostgreSQL cannot hold them, and a search or autocomplete term with one
  was a database error (a 500) instead of the caller's mistake.
- API answers are never stored by a browser or a proxy: they carry patients'
  names, procedures and symptoms (``Cache-Control: no-store``).
- An API request body over ``API_MAX_BODY_BYTES`` is a 400 from its
  Content-Length, before a byte is read or any view runs: the API's largest
  documents are a few tens of kilobytes (core.api_limits bounds the rest).
- Every answer carries a Content-Security-Policy (django-csp): scripts and
  styles from this server only, nothing from another host, never framed. The
  admin, the API's browser (/api/docs/) and its browsable HTML, which shows
  patients' data, the sign-in and error pages alike. A view that sets its own
  keeps it: the patient's pages send a stricter one (followups.link.views).
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.cache import patch_cache_control

API_PREFIX = "/api/"


class RefuseNulInQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # A cookie with a NUL (a forged session id) is dropped, not looked up:
        # the session table cannot hold it either.
        if any("\x00" in name or "\x00" in value for name, value in request.COOKIES.items()):
            request.COOKIES = {name: value for name, value in request.COOKIES.items()
                               if "\x00" not in name and "\x00" not in value}
        if request.path.startswith(API_PREFIX):
            # The API's own filters refuse it, in JSON naming the parameter.
            return self.get_response(request)
        if "\x00" in request.META.get("QUERY_STRING", "") or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            return HttpResponseBadRequest(
                "The query string contains a NUL character.", content_type="text/plain"
            )
        return self.get_response(request)


class ApiNoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # The OpenAPI document and its browser too: they are for signed-in staff.
        if request.path.startswith(API_PREFIX):
            patch_cache_control(response, no_store=True, private=True)
            response.setdefault("Pragma", "no-cache")
        return response


class ApiBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            limit = settings.API_MAX_BODY_BYTES
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0:
                return JsonResponse({"detail": "The Content-Length header is not a length."},
                                    status=400)
            if length > limit:
                return JsonResponse(
                    {"detail": f"The request body is too large: at most {limit // 1024} KB."},
                    status=400)
        return self.get_response(request)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's policy (CONTENT_SECURITY_POLICY in settings), on every answer.

    django-csp leaves alone an answer that already has a policy, and, with
    DEBUG on, Django's own debug pages (their inline scripts).
    """
