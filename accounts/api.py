"""The API's sign-in: a knox token for a password and the authenticator's code, and its sign-out."""

from __future__ import annotations

from django.contrib.auth import authenticate, user_logged_in
from django.contrib.auth.signals import user_login_failed
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from knox.models import AuthToken
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ClinicTokenAuthentication
from accounts.otp import otp_enrolled, otp_match, otp_required

NOT_ENROLLED = ("Set up your authenticator first: sign in to the admin, which takes you "
                "through it, then ask for a token with its code.")
BAD_CREDENTIALS = "Unable to log in with the provided username, password and authenticator code."


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
})
LOCKED = OpenApiResponse(description="Too many failed sign-ins: locked for a while.")


class TokenView(APIView):
    """``POST /api/auth/token/`` {username, password, otp_token} → {token, expiry}."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponse, 429: LOCKED},
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
            raise serializers.ValidationError({"non_field_errors": [BAD_CREDENTIALS]})
        if otp_enrolled(user):
            device = otp_match(user=user, token=data.get("otp_token", ""))
            if device is None:
                user_login_failed.send(sender=__name__, request=http_request,
                                       credentials={"username": data["username"]})
                raise serializers.ValidationError({"non_field_errors": [BAD_CREDENTIALS]})
        elif otp_required():
            raise serializers.ValidationError({"otp_token": [NOT_ENROLLED]})
        instance, token = AuthToken.objects.create(user=user)
        # Resets the failure count (AXES_RESET_ON_SUCCESS) and records the sign-in.
        user_logged_in.send(sender=user.__class__, request=http_request, user=user)
        return Response({"token": token, "expiry": instance.expiry}, status=status.HTTP_200_OK)


class LogoutView(KnoxLogoutView):
    """``POST /api/auth/logout/``: the token it is sent with stops working."""

    authentication_classes = [ClinicTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, operation_id="auth_logout_create")
    def post(self, request, format=None):
        return super().post(request, format)
