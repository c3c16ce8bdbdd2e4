"""Test settings: the real settings, with a fast hasher and mail kept in memory.

DATABASE_URL and CELERY_BROKER_URL come from the environment as in
production, so CI runs the suite on PostgreSQL and Redis.
"""

import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-0123456789abcdefghijklmnop")
os.environ.setdefault("AFTERCARE_VAR_DIR", tempfile.mkdtemp(prefix="aftercare-test-"))
# As a deployment with an email provider has it: its tracking webhook is served.
os.environ.setdefault("ANYMAIL_WEBHOOK_SECRET", "provider:test-only-webhook-secret")

from clinic.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}

if CACHES["default"]["BACKEND"].endswith("RedisCache"):  # noqa: F405
    # Each test starts with an empty cache (tests/conftest.py): keep that
    # clearing away from the broker's database, on the one after it (so two
    # suites pointed at different broker databases never clear each other's).
    from urllib.parse import urlsplit, urlunsplit

    _broker = urlsplit(CELERY_BROKER_URL)  # noqa: F405
    _cache_db = int(_broker.path.strip("/") or 0) + 1
    CACHES["default"]["LOCATION"] = urlunsplit(_broker._replace(path=f"/{_cache_db}"))  # noqa: F405
