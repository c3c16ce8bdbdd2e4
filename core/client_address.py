"""The client's address, for lockouts and rate limits.

Plumbing. Behind our reverse proxy (``DJANGO_BEHIND_PROXY=true``: the
compose file's nginx) every request reaches gunicorn from the proxy, so the
client is the address the proxy wrote in ``X-Real-IP``, which it always
overwrites. That header is believed only from a sender in
``TRUSTED_PROXIES`` (the loopback and the compose file's network by
default): anyone who reaches gunicorn some other way is known by the
address the connection came from, whatever header they write, or they could
pick a fresh address for every guess. Otherwise REMOTE_ADDR only.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(value) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(str(value or "").strip())
    except ValueError:
        return None
    # A server listening on [::] sees an IPv4 client as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def from_trusted_proxy(address: IPAddress) -> bool:
    """Whether a connection from this address is one of our proxies (``TRUSTED_PROXIES``)."""
    return any(address in ipaddress.ip_network(network)
               for network in getattr(settings, "TRUSTED_PROXIES", ()))


def client_address(request) -> str | None:
    """The client's IP address, or None when the request has none (a test's, a command's).

    None rather than a placeholder: django-axes stores it in an inet column.
    """
    sender = _ip(request.META.get("REMOTE_ADDR"))
    if sender is not None and getattr(settings, "BEHIND_PROXY", False) \
            and from_trusted_proxy(sender):
        forwarded = _ip(request.META.get("HTTP_X_REAL_IP"))
        if forwarded is not None:
            return str(forwarded)
    return str(sender) if sender is not None else None


def axes_client_ip(request) -> str | None:
    """The address django-axes records: a real IP, or none (it stores an inet column).

    A request with no address at all (a test client's, a management command's
    sign-in) has none to lock out; the username still counts.
    """
    return client_address(request)
