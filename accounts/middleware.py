"""Sessions that end, and a second factor before any page with patient data.

Both run after Django's authentication middleware and django-otp's, on every
request, so the admin, the export and photo views and the API's browser
sessions are covered alike; a view cannot forget to ask.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponseRedirect
from django.urls import reverse

from accounts.otp import otp_enrolled, otp_required

SIGNED_IN_AT = "_signed_in_at"
LAST_SEEN_AT = "_last_seen_at"
# The last-seen time is written at most this often: one session write a
# minute instead of one a request. The idle timeout is minutes long.
LAST_SEEN_RESOLUTION = 60


class SessionTimeoutMiddleware:
    """A working day's lifetime from sign-in, and an idle timeout (OWASP session management).

    ``SESSION_COOKIE_AGE`` is the absolute lifetime, counted from sign-in,
    not renewed by activity; ``SESSION_IDLE_TIMEOUT`` (seconds) ends a session
    nobody used for that long. Either way the user signs in again, code included.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and request.user.is_authenticated:
            now = int(time.time())
            signed_in_at = session.setdefault(SIGNED_IN_AT, now)
            last_seen_at = session.get(LAST_SEEN_AT, now)
            if (now - signed_in_at > settings.SESSION_COOKIE_AGE
                    or now - last_seen_at > settings.SESSION_IDLE_TIMEOUT):
                logout(request)
            elif now - last_seen_at >= LAST_SEEN_RESOLUTION or LAST_SEEN_AT not in session:
                session[LAST_SEEN_AT] = now
        return self.get_response(request)


class SecondFactorRequiredMiddleware:
    """With ``OTP_REQUIRED``, a session signed in with a password alone reaches nothing.

    A staff user with no authenticator yet is sent to enroll (the admin's
    enrollment page, the sign-out and static files are all they may open);
    any other unverified session counts as signed out.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self._open_paths: tuple[str, ...] | None = None

    def open_paths(self) -> tuple[str, ...]:
        if self._open_paths is None:
            self._open_paths = (reverse("admin:otp_enroll"), reverse("admin:logout"),
                                reverse("admin:login"), reverse("admin:jsi18n"))
        return self._open_paths

    def __call__(self, request):
        user = request.user
        if (otp_required() and user.is_authenticated
                and not (getattr(user, "is_verified", None) and user.is_verified())):
            static = "/" + settings.STATIC_URL.lstrip("/")
            if request.path in self.open_paths() or request.path.startswith(static):
                return self.get_response(request)
            if request.path.startswith("/admin/") and not otp_enrolled(user):
                return HttpResponseRedirect(reverse("admin:otp_enroll"))
            request.user = AnonymousUser()
        return self.get_response(request)
