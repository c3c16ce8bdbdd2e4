"""Settings for the aftercare desk, read from the environment.

Every variable is listed in docs/operations.md and .env.example. The defaults are the
embedded ones (an SQLite file and a filesystem Celery broker) so the demo runs
without any server; production points DATABASE_URL and CELERY_BROKER_URL at
PostgreSQL and Redis.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from core.env import (
    ConfigurationError,
    database_from_url,
    env_aws_credentials,
    env_bool,
    env_choice,
    env_email,
    env_hosts,
    env_import_path,
    env_int,
    env_networks,
    env_required,
    env_sentinel_nodes,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("AFTERCARE_VAR_DIR", str(BASE_DIR / "var")))

DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production-6f1c9a2e"

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or DEV_SECRET_KEY
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ConfigurationError(
        "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false (the dev key is refused)"
    )
if len(SECRET_KEY) < 32:
    raise ConfigurationError("DJANGO_SECRET_KEY must be at least 32 characters long")

ALLOWED_HOSTS = env_hosts("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000", schemes=("http", "https"))

INSTALLED_APPS = [
    "clinic.apps.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # API tokens stored hashed, with an expiry (accounts.authentication).
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # List filters (core.api_filters); its templates draw the browsable API's filter form.
    "django_filters",
    # The admin's list filters for clinics and users, network-wide: an
    # autocomplete box (its script; patients.admin_scoping).
    "admin_auto_filters",
    "phonenumber_field",
    "patients",
    "followups",
    "anymail",
    "health",
    # Staff sign-in: the second factor (django-otp), lockout (django-axes), tokens.
    "accounts",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    # Its readiness checks, and `manage.py health_check readyz --no-http`.
    "health_check",
]

MIDDLEWARE = [
    # First: every log line of the request carries its id (core.logging).
    "core.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RefuseNulInQueryMiddleware",
    "core.middleware.ApiNoStoreMiddleware",
    "core.middleware.ApiBodyLimitMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.SecondFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out attempt into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The embedded defaults keep their files here: the SQLite database, the
# filesystem broker's queue, beat's schedule and private uploads.
for _folder in (VAR_DIR, VAR_DIR / "static", VAR_DIR / "broker" / "out",
                VAR_DIR / "broker" / "processed", VAR_DIR / "broker" / "control"):
    _folder.mkdir(parents=True, exist_ok=True)

# Behind PgBouncer in transaction mode (DATABASE_TRANSACTION_POOLING=true) no
# server-side cursor or prepared statement may outlive a transaction; prepared
# statements are then off unless asked for, and asking for both is refused.
# Without a pooler, or with one in session mode, they stay on.
DATABASE_TRANSACTION_POOLING = env_bool("DATABASE_TRANSACTION_POOLING", False)
DATABASES = {
    "default": database_from_url(
        "DATABASE_URL",
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'aftercare.sqlite3'}",
        prepared_statements=env_bool("DATABASE_PREPARED_STATEMENTS",
                                     not DATABASE_TRANSACTION_POOLING),
        transaction_pooling=DATABASE_TRANSACTION_POOLING,
        connect_timeout=env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1, maximum=60),
    )
}
# Bounded waits (core.env.database_timeouts), in seconds. A web request's
# statement gives up after a few seconds (gunicorn's --timeout, 30 s, stays
# above it: a patient gets the calm 503 page, never a dropped connection); a
# worker's (the sweep, exports' commands) after longer; a lock is waited for
# no longer than DATABASE_LOCK_TIMEOUT anywhere.
DATABASE_STATEMENT_TIMEOUT = env_int("DATABASE_STATEMENT_TIMEOUT", 5, minimum=1, maximum=25)
DATABASE_WORKER_STATEMENT_TIMEOUT = env_int("DATABASE_WORKER_STATEMENT_TIMEOUT", 120,
                                            minimum=5, maximum=3600)
DATABASE_LOCK_TIMEOUT = env_int("DATABASE_LOCK_TIMEOUT", 3, minimum=1, maximum=300)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Migrations on PostgreSQL (docs/deployment.md, "Migrations that lock nothing"):
# a statement that needs an ACCESS EXCLUSIVE lock waits at most this long for
# it, then fails (the migration is run again) rather than queueing every
# request behind it. Unsafe operations warn here; the test suite refuses them
# in any new migration (tests/test_migrations_zero_downtime.py).
ZERO_DOWNTIME_MIGRATIONS_LOCK_TIMEOUT = env_str("MIGRATION_LOCK_TIMEOUT", "2s")
ZERO_DOWNTIME_MIGRATIONS_FLEXIBLE_STATEMENT_TIMEOUT = True
ZERO_DOWNTIME_MIGRATIONS_RAISE_FOR_UNSAFE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Staff sign-in ---------------------------------------------------------------------
# django-axes first: it refuses a locked-out username or address before any
# password is checked; ModelBackend then checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# A second factor (TOTP, RFC 6238) for every staff user whenever DEBUG is off;
# the demo (DJANGO_DEBUG=true) signs in with a password unless one is enrolled.
OTP_REQUIRED = not DEBUG
OTP_TOTP_ISSUER = "Aftercare desk"
# Where a sign-in goes when its ?next= is missing or refused (another host, say):
# the desk, not Django's /accounts/profile/, which nothing serves.
LOGIN_REDIRECT_URL = "admin:index"
# Lockout (interface: after at most 10 failures, for at least 15 minutes): the
# username and the address each lock on their own, so neither a password
# sprayed across accounts nor one account tried from many addresses gets far.
# A wrong or missing authenticator code counts as a failure (accounts.forms).
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=15,
                                              maximum=24 * 60))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A success erases no failure: with the two counted apart, django-axes' reset
# would delete every failure of the address too, so a colleague signing in from
# the same one would wipe the guesses made at someone else's password. Failures
# age out after the cool-off instead (docs/staff-accounts.md, "Lockout").
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "core.client_address.axes_client_ip"
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token"]
# Failures and lockouts are logged (WARNING) by django-axes with the username and
# address; its start-up and per-success INFO lines are not wanted on stderr.
AXES_VERBOSE = False
# Behind the compose file's nginx: the client's address is its X-Real-IP, believed
# only from a sender in TRUSTED_PROXIES (core.client_address): the loopback and
# the compose file's network, whose subnet docker-compose.yml fixes to this one.
# Anyone else reaching gunicorn is known by their own address, whatever they write.
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", False)
COMPOSE_NETWORK = "10.247.91.0/24"
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES", f"127.0.0.0/8,::1,{COMPOSE_NETWORK}")
# A working day from sign-in, however busy (absolute), and 30 minutes of
# nothing (idle): accounts.middleware.SessionTimeoutMiddleware.
SESSION_COOKIE_AGE = env_int("SESSION_LIFETIME_HOURS", 10, minimum=1, maximum=24) * 3600
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_MINUTES", 30, minimum=5, maximum=8 * 60) * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

LANGUAGE_CODE = "en"
# The patients' languages (patients.models.Language): their emails and
# check-in pages. Staff pages stay in English. The compiled .mo files are
# committed beside their .po files; start-up refuses a patient language
# without one (patients.checks).
LANGUAGES = [("en", "English"), ("fr", "Français"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Staff pages write every date one way (clinic/formats/en/formats.py).
FORMAT_MODULE_PATH = ["clinic.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# Patient photos are health data: stored outside any served folder (file) or
# in a private bucket (s3), and only ever streamed to staff through a view
# that checks the clinic and records who looked. No public URL is handed out.
MEDIA_STORAGE = env_choice("MEDIA_STORAGE", "file", choices=("file", "s3"))
if MEDIA_STORAGE == "s3":
    _s3_options = {
        "bucket_name": env_required("S3_BUCKET", "MEDIA_STORAGE=s3 needs the bucket's name"),
        "region_name": env_str("S3_REGION") or None,
        "endpoint_url": (env_url("S3_ENDPOINT_URL", "", schemes=("http", "https"))
                         if env_str("S3_ENDPOINT_URL") else None),
        # Private objects: no ACL is sent (the bucket's own, private, applies;
        # buckets that enforce ownership refuse ACLs anyway), and a signed URL,
        # should anything ask for one, lives a minute.
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": 60,
        "file_overwrite": False,
        # Read back into memory, never a temporary file on this machine.
        "max_memory_size": 0,
        "signature_version": "s3v4",
        # S3-compatible servers (MinIO, Ceph, moto) address buckets by path.
        "addressing_style": "path" if env_str("S3_ENDPOINT_URL") else None,
        **env_aws_credentials("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    }
    _media_storage = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _s3_options}
else:
    _media_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "private-media"), "base_url": None},
    }
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
# Uploads are held in memory up to the photo limit and never spooled to a
# temporary file: an unverified patient photo touches no disk (a file over
# the limit is counted, not kept, and the form refuses it as too large).
FILE_UPLOAD_HANDLERS = ["followups.link.photos.BoundedMemoryUploadHandler"]
WHITENOISE_USE_FINDERS = True
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

# Email -----------------------------------------------------------------------
EMAIL_BACKEND = env_import_path("EMAIL_BACKEND",
                                "django.core.mail.backends.console.EmailBackend")
if env_str("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH")
    if Path(EMAIL_FILE_PATH).exists() and not Path(EMAIL_FILE_PATH).is_dir():
        raise ConfigurationError(f"EMAIL_FILE_PATH must be a folder, got {EMAIL_FILE_PATH!r}")
elif EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend":
    raise ConfigurationError("EMAIL_FILE_PATH must name a folder for the file-based backend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = env_email("DEFAULT_FROM_EMAIL", "webmaster@localhost")
# An email provider through django-anymail: EMAIL_BACKEND names its backend
# (e.g. anymail.backends.postmark.EmailBackend) and its own ANYMAIL_* variables
# (ANYMAIL_POSTMARK_SERVER_TOKEN, …) become its settings. Its tracking webhook,
# under /anymail/, reports bounces; it is served only with ANYMAIL_WEBHOOK_SECRET
# set (HTTP basic auth, "user:password"): unsigned events are never accepted.
ANYMAIL = {name.removeprefix("ANYMAIL_"): value for name, value in os.environ.items()
           if name.startswith("ANYMAIL_") and value}

# Text messages -------------------------------------------------------------------
# console: printed, like the console email backend (the demo); twilio: Twilio's
# REST API through its own client (followups/delivery/channels/sms/).
SMS_BACKEND = env_choice("SMS_BACKEND", "console", choices=("console", "twilio"))
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
# The sending number (E.164) or a Messaging Service (MG…).
TWILIO_FROM = env_str("TWILIO_FROM")
TWILIO_API_URL = env_url("TWILIO_API_URL", "https://api.twilio.com", schemes=("http", "https"))
if SMS_BACKEND == "twilio":
    for _name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"):
        env_required(_name, "SMS_BACKEND=twilio sends through a Twilio account")
# Numbers are stored E.164; one given without a country code is read in its
# clinic's country (patients/phones.py), not in a country fixed here.
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "E164"

# Celery ------------------------------------------------------------------------
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL",
    "filesystem://",
    schemes=("redis", "rediss", "sentinel", "filesystem", "memory", "amqp", "sqs"),
)
# Redis behind Sentinel: sentinel://host:26379;sentinel://host2:26379, and the
# name of the primary they watch. The broker and the cache both follow a failover.
BROKER_SENTINELS = (env_sentinel_nodes("CELERY_BROKER_URL", CELERY_BROKER_URL)
                    if CELERY_BROKER_URL.startswith("sentinel://") else [])
CELERY_BROKER_SENTINEL_MASTER = (
    env_required("CELERY_BROKER_SENTINEL_MASTER",
                 "a sentinel:// broker needs the name of the primary the Sentinels watch")
    if BROKER_SENTINELS else env_str("CELERY_BROKER_SENTINEL_MASTER")
)
BROKER_IS_EMBEDDED = CELERY_BROKER_URL.startswith(("filesystem://", "memory://"))
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem://")
    else {
        # Nothing we enqueue waits longer than a few minutes: PostgreSQL is the
        # record of what is due. A short visibility timeout re-delivers a task
        # whose worker died, and the row's status guard makes that harmless.
        "visibility_timeout": 600,
        # A Redis that accepts connections but never answers must not hang a
        # request that enqueues a "sweep now" hint: give up, the beat sweeps.
        "socket_timeout": 5,
        "socket_connect_timeout": 2,
        **({"master_name": CELERY_BROKER_SENTINEL_MASTER,
            "sentinel_kwargs": {"socket_timeout": 2, "socket_connect_timeout": 2}}
           if BROKER_SENTINELS else {}),
    }
)
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# No result backend, JSON only: set on the app itself (clinic/celery.py), since
# CELERY_RESULT_BACKEND, CELERY_TASK_SERIALIZER and CELERY_ACCEPT_CONTENT are
# also Celery 3's names, and Celery warns at every start about settings spelt so.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A worker turns what tasks print into log records, whose filter cuts out the
# patient's link. The demo's console email backend prints each email for the
# person trying it, link and all, so there the printed emails stay output, not
# logs; every log record is still redacted.
CELERY_WORKER_REDIRECT_STDOUTS = not (
    DEBUG and EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"
)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# A network-wide user's dashboard reads the network's counts from a snapshot
# taken this often (followups.desk.snapshot); one older than the maximum age
# (a beat or worker down) is not shown, and the page counts live instead.
DASHBOARD_SNAPSHOT_EVERY = timedelta(minutes=env_int("DASHBOARD_SNAPSHOT_MINUTES", 5, minimum=1))
DASHBOARD_SNAPSHOT_MAX_AGE = 3 * DASHBOARD_SNAPSHOT_EVERY
CELERY_BEAT_SCHEDULE = {
    "followups-sweep": {
        "task": "followups.sweep",
        "schedule": timedelta(minutes=1),
        # No expiry: Celery's is an absolute time on beat's clock, and a worker
        # whose clock is ahead would discard every sweep. A late sweep is
        # harmless: it finds nothing due that the one before it sent.
    },
    # None of these carries an expiry either (see the sweep's note): each is
    # idempotent, so a late or repeated run only finds less to do.
    # Retries webhook deliveries whose backoff is over (new ones go at once).
    "webhooks-deliver": {
        "task": "webhooks.deliver",
        "schedule": timedelta(minutes=1),
    },
    # Erases the patients past DATA_RETENTION_DAYS (docs/records.md).
    "records-retention": {
        "task": "records.retention",
        "schedule": timedelta(days=1),
    },
    # The network's dashboard counts (followups.desk.snapshot).
    "followups-dashboard-snapshot": {
        "task": "followups.dashboard_snapshot",
        "schedule": DASHBOARD_SNAPSHOT_EVERY,
    },
    # Purges audit rows past AUDIT_RETENTION_DAYS (followups.audit.audit_purge).
    "followups-audit-purge": {
        "task": "followups.audit_purge",
        "schedule": timedelta(days=1),
    },
}
# Audit rows are kept this long, then purged daily (followups.audit.audit_purge).
# Seven years by default: a clinic's record-keeping duty for care records.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 2555, minimum=1)

# Product settings ----------------------------------------------------------------
# Patients whose last session is older are erased by the daily task (docs/records.md).
DATA_RETENTION_DAYS = env_int("DATA_RETENTION_DAYS", 3650, minimum=30)
RETENTION_BATCH_SIZE = 100
# Webhooks (docs/records.md): a delivery is retried with a doubling backoff up to
# WEBHOOK_RETRY_MAX apart; failing for WEBHOOK_DISABLE_AFTER turns the webhook off.
WEBHOOK_TIMEOUT_SECONDS = 10
WEBHOOK_RETRY_FIRST = timedelta(seconds=30)
WEBHOOK_RETRY_MAX = timedelta(minutes=30)
WEBHOOK_DISABLE_AFTER = timedelta(days=1)
# Each POST may take WEBHOOK_TIMEOUT_SECONDS: a batch is sent well within its lease.
WEBHOOK_BATCH_SIZE = 10
CHECKIN_DAYS = (2, 7)
# One extra check-in after a watch answer at day 7 (docs/escalation-rules.md):
# judged by the day-10 rules whatever the day set here (it must come after day 7).
CHECKIN_WATCH_DAY = 10
CHECKIN_LINK_TTL = timedelta(hours=72)
# A check-in still unsent a link lifetime after its due time (a session recorded
# late, an outage) is replaced by a later one of its session due within this long
# (clinical-reference.md, "Nothing lapses"; docs/delivery.md).
CHECKIN_LATE_REPLACED_WITHIN = timedelta(hours=24)
CHECKIN_REMINDER_AFTER = timedelta(hours=24)
CHECKIN_NO_RESPONSE_AFTER = timedelta(hours=48)
# How long a sender's claim on a row lasts before another may take it over
# (renewed at half-time while it sends). A sender that dies leaves its rows
# due again after this long; one stopped (SIGTERM) gives them back at once.
DELIVERY_LEASE = timedelta(seconds=env_int("DELIVERY_LEASE_SECONDS", 300, minimum=10,
                                           maximum=3600))
DELIVERY_MAX_ATTEMPTS = 5
DELIVERY_RETRY_BACKOFF = timedelta(minutes=2)
SWEEP_BATCH_SIZE = 200
# Fanned out by beat's sweep: each worker claims batches this big, and at most
# this many workers are asked at once; a worker stops claiming after the budget.
DELIVERY_BATCH_SIZE = 50
DELIVERY_FAN_OUT_MAX = 32
DELIVERY_TASK_BUDGET = timedelta(seconds=50)
URGENT_ACK_DEADLINE = timedelta(minutes=120)
# Readiness names a process (a worker, this web server) whose own clock is more
# than this far from the database's, if it was heard from within the last ten
# minutes (health.clock).
CLOCK_TOLERANCE = timedelta(minutes=1)
CLOCK_HEARD_WITHIN = timedelta(minutes=10)
# An urgent flag still open this long is texted to the clinic's on-call phone,
# once, before the 2-hour email to every staff member (followups/escalations/on_call.py).
URGENT_ESCALATE_MINUTES = env_int("URGENT_ESCALATE_MINUTES", 30, minimum=1, maximum=119)
CLUSTER_MIN_PATIENTS = 3
CLUSTER_WINDOW_DAYS = 30
PHOTO_MAX_BYTES = 10 * 1024 * 1024
# The largest body the patient's link reads: the photo plus the form's fields
# and multipart framing. Longer bodies are a 413 before anything is parsed;
# the reverse proxy's client_max_body_size (deploy/nginx) matches it.
PATIENT_LINK_MAX_BODY = PHOTO_MAX_BYTES + 256 * 1024
# Readiness fails when no sweep has finished for this long: beat or every worker is down.
SWEEP_STALE_AFTER = timedelta(minutes=5)
PATIENT_LINK_RATE_LIMIT = (30, 60)  # requests, seconds, per client address

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CELERY_BROKER_URL,
         "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}
        if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
        else {"BACKEND": "core.cache.SentinelRedisCache", "LOCATION": CELERY_BROKER_URL,
              "OPTIONS": {"master_name": CELERY_BROKER_SENTINEL_MASTER,
                          "socket_connect_timeout": 1, "socket_timeout": 1}}
        if BROKER_SENTINELS
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# REST API ------------------------------------------------------------------------
# The largest API body read (core.middleware.ApiBodyLimitMiddleware): a patient's
# 10,000-character notes and 100 allergies, every character escaped as \uXXXX,
# are about 120 KB; nothing the API takes is larger.
API_MAX_BODY_BYTES = 256 * 1024
# How deep JSON may nest (core.api_limits): the API's own documents go three deep.
API_MAX_JSON_DEPTH = 32
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ClinicTokenAuthentication",
        "accounts.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["patients.permissions.IsClinicStaff"],
    # Page numbers, counted only as far as ten pages ahead (core/pagination.py).
    "DEFAULT_PAGINATION_CLASS": "core.pagination.CappedCountPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # A view's filterset_class both filters its list and documents the parameters.
    "DEFAULT_FILTER_BACKENDS": ["core.api_filters.FilterBackend"],
    # JSON nested no deeper than API_MAX_JSON_DEPTH, and the browsable API's forms
    # with too many fields refused as a 400 (core.api_limits). Bodies are bounded
    # before any parser runs (API_MAX_BODY_BYTES).
    "DEFAULT_PARSER_CLASSES": [
        "core.api_limits.BoundedJSONParser",
        "core.api_limits.BoundedFormParser",
        "core.api_limits.BoundedMultiPartParser",
    ],
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
REST_KNOX = {
    # A working day, then sign in again; the expiry is returned with the token.
    "TOKEN_TTL": timedelta(hours=env_int("API_TOKEN_HOURS", 10, minimum=1, maximum=24 * 7)),
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_LIMIT_PER_USER": 20,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Aftercare desk API",
    "DESCRIPTION": "Patients, microneedling sessions, day-2/day-7 check-ins and escalations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The document and its browser are for the API's own callers: a clinic's staff
    # or a superuser, signed in (clinic.api_docs).
    "SERVE_PERMISSIONS": ["patients.permissions.IsClinicStaff"],
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page loads its scripts from this server, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.document_error_responses",
    ],
    # One name per choice set, so the document has no duplicate enums.
    "ENUM_NAME_OVERRIDES": {
        "SeverityEnum": "followups.models.SEVERITY_CHOICES",
        "TrendEnum": "followups.models.TREND_CHOICES",
        "EscalationLevelEnum": "followups.models.ESCALATION_LEVEL_CHOICES",
        "AssessmentLevelEnum": "followups.models.ASSESSMENT_LEVEL_CHOICES",
    },
}

# Security ------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
# The Content-Security-Policy of every page but the patient's, which sets a
# stricter one (core.middleware, django-csp): the admin, the sign-in, the API's
# browser (/api/docs/, Swagger UI, whose start-up script is a file of its own)
# and DRF's browsable API. Scripts from this server and nothing from another
# host. Inline <style> blocks and style attributes (our admin templates, Swagger
# UI, DRF's pages) need 'unsafe-inline' for styles only; no inline script runs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if SITE_URL.startswith("https://") and not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = [SITE_URL]

# Logging: one JSON object per line in production (DJANGO_LOG_FORMAT=json, the
# default unless DJANGO_DEBUG), each with its request id or Celery task id;
# the demo's lines stay plain. Patient link tokens are credentials: every
# record is redacted before any handler sees it, and every line once more as
# it is written (tracebacks included).
LOG_FORMAT = env_choice("DJANGO_LOG_FORMAT", "plain" if DEBUG else "json",
                        choices=("json", "plain"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_tokens": {"()": "core.logging.RedactPatientLinks"},
        "context": {"()": "core.logging.LogContext"},
    },
    "formatters": {
        "plain": {"()": "core.logging.PlainFormatter",
                  "format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact_tokens", "context"],
        },
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
