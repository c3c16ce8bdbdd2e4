"""How the OpenAPI document describes our two ways in (drf-spectacular extensions)."""

from __future__ import annotations

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ClinicTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ClinicTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'A token from POST /api/auth/token/, sent as "Token <token>". '
                           "It expires (see the expiry returned with it).",
        }


class VerifiedSessionScheme(SessionScheme):
    target_class = "accounts.authentication.VerifiedSessionAuthentication"
