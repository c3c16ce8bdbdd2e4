"""The product's settings, served with the benchmark's baseline views beside its own.

Only these differ from ``clinic.settings``: the URLconf adds the baseline
views (so the product and its baselines run in the same server and workers),
and the per-address limit on patient links is lifted, because every benchmark
request comes from 127.0.0.1 (the limiter still runs on every request). In
the benchmark's gunicorn (``BENCH_STATEMENT_TRACE_DIR`` set), an outermost
middleware also reports the statements each request sent to PostgreSQL
(``bench/statements.py``), for the product's views and the baselines alike.
"""

import os

from bench.statements import TRACE_DIR_VARIABLE
from clinic.settings import *  # noqa: F403
from clinic.settings import MIDDLEWARE

ROOT_URLCONF = "bench.urls"
PATIENT_LINK_RATE_LIMIT = (10**9, 60)
if os.environ.get(TRACE_DIR_VARIABLE):
    MIDDLEWARE = ["bench.statements.StatementCountMiddleware", *MIDDLEWARE]
