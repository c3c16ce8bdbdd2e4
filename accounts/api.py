"""The API's sign-in: a knox token for a password and the authenticator's code, and its sign-out."""

from __future__ import annotations

from django.contrib.auth import authenticate, user_logged_in
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from knox.models import AuthToken
from knox.settings import knox_settings
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ClinicTokenAuthentication
from accounts.otp import otp_enrolled, otp_match, otp_required

# One answer for a wrong password, a wrong code and a user with no authenticator
# yet: telling the last apart would confirm the password to whoever guessed it.
BAD_CREDENTIALS = ("Unable to log in with the provided username, password and authenticator "
                   "code. Without an authenticator yet, sign in to the admin first: it takes "
                   "you through setting one up.")
TOO_MANY_TOKENS = ("Too many tokens: at most {limit} at a time. Sign one out "
                   "(POST /api/auth/logout/) or wait for one to expire.")


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False,
                                     style={"input_type": "password"})
    otp_token = serializers.CharField(max_length=16, required=False, allow_blank=True,
                                      help_text="The authenticator's current code, once "
                                                "enrolled (or a recovery code).")


TokenResponse = inline_serializer("TokenResponse", {
    "token": serializers.CharField(),
    "expiry": serializers.DateTimeField(),
    # Who the token is: the id a client assigns escalations to ("Mine").
    "user": inline_serializer("TokenUser", {"id": serializers.IntegerField(),
                                            "username": serializers.CharField()}),
})
LOCKED = OpenApiResponse(description="Too many failed sign-ins: locked for a while.")
TOKEN_LIMIT = OpenApiResponse(description="The user holds as many live tokens as allowed "
                                          "(TOKEN_LIMIT_PER_USER).")


def _refused(http_request, username: str):
    """A failed sign-in, counted by the lockout, answered like any other."""
    user_login_failed.send(sender=__name__, request=http_request,
                           credentials={"username": username})
    return serializers.ValidationError({"non_field_errors": [BAD_CREDENTIALS]})


class TokenView(APIView):
    """``POST /api/auth/token/`` {username, password, otp_token} → {token, expiry, user}."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=TokenRequestSerializer,
                   responses={200: TokenResponse, 403: TOKEN_LIMIT, 429: LOCKED},
                   operation_id="auth_token_create")
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # The plain HttpRequest: django-axes marks a locked-out attempt on it,
        # and its middleware turns that into the 429.
        http_request = request._request
        user = authenticate(http_request, username=data["username"], password=data["password"])
        if user is None:
            # authenticate() has counted the failure.
            raise serializers.ValidationError({"non_field_errors": [BAD_CREDENTIALS]})
        if otp_enrolled(user):
            if otp_match(user=user, token=data.get("otp_token", "")) is None:
                raise _refused(http_request, data["username"])
        elif otp_required():
            # The right password, and no authenticator to check a code against:
            # refused and counted exactly as a wrong password is, so neither the
            # answer nor the lockout tells a guesser that this one was right.
            raise _refused(http_request, data["username"])
        limit = knox_settings.TOKEN_LIMIT_PER_USER
        with transaction.atomic():
            if limit is not None:
                # One token request per user at a time, so two at the limit
                # cannot both pass it.
                type(user).objects.select_for_update().only("pk").get(pk=user.pk)
                live = AuthToken.objects.filter(Q(expiry__gt=timezone.now())
                                                | Q(expiry__isnull=True), user=user)
                if live.count() >= limit:
                    return Response({"detail": TOO_MANY_TOKENS.format(limit=limit)},
                                    status=status.HTTP_403_FORBIDDEN)
            instance, token = AuthToken.objects.create(user=user)
        # Records the sign-in (django-axes' access log, the user's last_login).
        user_logged_in.send(sender=user.__class__, request=http_request, user=user)
        return Response({"token": token, "expiry": instance.expiry,
                         "user": {"id": user.pk, "username": user.get_username()}},
                        status=status.HTTP_200_OK)


class LogoutView(KnoxLogoutView):
    """``POST /api/auth/logout/``: the token it is sent with stops working."""

    authentication_classes = [ClinicTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, operation_id="auth_logout_create")
    def post(self, request, format=None):
        return super().post(request, format)
