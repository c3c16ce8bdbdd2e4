"""A per-address request budget for the patient's link, kept in Django's cache.

The link is a bearer token: the budget slows anyone guessing tokens. A fixed
window (``PATIENT_LINK_RATE_LIMIT`` = requests, seconds) is plenty for that;
a patient filling the form needs two or three requests.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache

from core.client_address import client_address as _client_address

logger = logging.getLogger(__name__)


def client_address(request) -> str:
    # REMOTE_ADDR, or behind our proxy the X-Real-IP it writes; never
    # X-Forwarded-For, which a client writes and would let anyone pick a
    # fresh address for every guess (core.client_address).
    return _client_address(request) or "unknown"


def patient_link_rate_limited(request, *, now: float | None = None) -> bool:
    """Count this request against its address; True once the budget is spent.

    Fails open: if the cache backend is down (Redis unreachable) the patient
    still gets their form, and the outage is logged.
    """
    limit, window = settings.PATIENT_LINK_RATE_LIMIT
    now = time.time() if now is None else now
    # The address is hashed so that the cache holds no personal data.
    address = hashlib.sha256(client_address(request).encode("utf-8")).hexdigest()[:32]
    key = f"patient-link-rate:{address}:{int(now // window)}"
    try:
        # add() is a no-op when the key exists; incr() is atomic in Redis and
        # in the local-memory cache.
        cache.add(key, 0, timeout=window + 1)
        try:
            count = cache.incr(key)
        except ValueError:
            # The key expired between add() and incr().
            cache.set(key, 1, timeout=window + 1)
            count = 1
    except Exception as error:  # any cache failure: fail open, loudly
        logger.warning("patient link rate limit not applied: cache unavailable (%s)",
                       type(error).__name__)
        return False
    return count > limit


def retry_after_seconds() -> int:
    return int(settings.PATIENT_LINK_RATE_LIMIT[1])
