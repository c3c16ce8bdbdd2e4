"""How API callers prove who they are: a knox token, or a browser session with its second factor.

Settings' DEFAULT_AUTHENTICATION_CLASSES name these two.
"""

from __future__ import annotations

from knox.auth import TokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication

from accounts.otp import otp_required
from patients.selectors import user_clinic_ids

DEAD_TOKEN = "Invalid token."


class ClinicTokenAuthentication(TokenAuthentication):
    """A knox token (stored hashed, with an expiry) whose user may still use the API.

    A token dies when its user is deactivated or changes password (accounts.signals
    deletes it), and when they belong to no clinic any more: it is deleted
    here, so joining a clinic again later does not bring it back.
    """

    def authenticate_credentials(self, token):
        try:
            token.decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(DEAD_TOKEN) from None
        return super().authenticate_credentials(token)

    def validate_user(self, auth_token):
        user, auth_token = super().validate_user(auth_token)
        if not (user.is_superuser or user_clinic_ids(user)):
            auth_token.delete()
            raise exceptions.AuthenticationFailed(DEAD_TOKEN)
        return user, auth_token


class VerifiedSessionAuthentication(SessionAuthentication):
    """A browser session counts only once its second factor was given (with OTP_REQUIRED).

    accounts.middleware already treats such a session as signed out; this is
    the same rule where the API reads it, so neither can drift from the other.
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, auth = result
        if otp_required() and not (getattr(user, "is_verified", None) and user.is_verified()):
            return None
        return user, auth
