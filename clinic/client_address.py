"""The client's address, for lockouts and rate limits.

Plumbing. Behind our reverse proxy (``DJANGO_BEHIND_PROXY=true``: the
compose file's nginx) every request reaches gunicorn from the proxy, so the
client is the address the proxy wrote in ``X-Real-IP``, which it always
overwrites. Otherwise REMOTE_ADDR only: headers a client writes itself
would let anyone pick a fresh address for every guess.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_address(request) -> str:
    if getattr(settings, "BEHIND_PROXY", False):
        forwarded = request.META.get("HTTP_X_REAL_IP", "").strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR") or "unknown"
