"""The product's settings, served with the benchmark's baseline views beside its own.

Only two things differ from ``clinic.settings``: the URLconf adds the baseline
view (so the product and its baseline run in the same server and workers), and
the per-address limit on patient links is lifted, because every benchmark
request comes from 127.0.0.1. The limiter still runs on every request.
"""

from clinic.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
PATIENT_LINK_RATE_LIMIT = (10**9, 60)
