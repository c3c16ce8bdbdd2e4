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


def _address(value) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value or "").strip()))
    except ValueError:
        return None


def client_address(request) -> str | None:
    """The client's IP address, or None when the request has none (a test's, a command's).

    None rather than a placeholder: django-axes stores it in an inet column.
    """
    if getattr(settings, "BEHIND_PROXY", False):
        forwarded = _address(request.META.get("HTTP_X_REAL_IP"))
        if forwarded:
            return forwarded
    return _address(request.META.get("REMOTE_ADDR"))


def axes_client_ip(request) -> str | None:
    """The address django-axes records: a real IP, or none (it stores an inet column).

    A request with no address at all (a test client's, a management command's
    sign-in) has none to lock out; the username still counts.
    """
    address = client_address(request)
    if address is None:
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None
