"""The signature of a delivery: ``Aftercare-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The HMAC is of ``"<t>.<body>"`` with the webhook's secret, as Stripe signs
its events: a receiver recomputes it over the raw body it got, compares in
constant time, and refuses a ``t`` too far from its own clock (a replay).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Aftercare-Signature"


def secret_new() -> str:
    return f"whsec_{secrets.token_hex(24)}"


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def signature_valid(*, secret: str, header: str, body: bytes) -> bool:
    """What a receiver checks (the tests' receiver, and the documentation's example)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(signature(secret=secret, timestamp=timestamp, body=body), header)
