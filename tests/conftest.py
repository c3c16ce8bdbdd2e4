"""Shared fixtures: personas (a clinic's staff, another clinic's staff, a superuser)."""

from __future__ import annotations

import os
import socket
import sys
from datetime import UTC, datetime

import pytest
import time_machine
from django.conf import settings
from rest_framework.test import APIClient

from tests.factories import ClinicFactory, PatientFactory, UserFactory
from tests.support.otp import VerifiedClient

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

CLOCK_TRAVEL = pytest.StashKey[time_machine.travel]()


def pytest_addoption(parser):
    parser.addoption(
        "--clock-at", metavar="HH:MM|DATE-TIME", default=None,
        help="start this process's clock at this UTC time (HH:MM today, or an ISO date and "
             "time such as 2026-12-06T03:00) and let it tick from there: the suite must pass "
             "at any hour (.ci/run runs it at 03:00)",
    )


def clock_start(value: str) -> datetime:
    """``--clock-at``'s value as an aware UTC instant: a time today (UTC), or a date and time."""
    try:
        if "T" in value or " " in value:
            start = datetime.fromisoformat(value)
        else:
            hour, _, minute = value.partition(":")
            start = datetime.now(UTC).replace(hour=int(hour), minute=int(minute or 0),
                                              second=0, microsecond=0)
    except ValueError as error:
        raise pytest.UsageError(f"--clock-at={value}: {error}") from error
    return start if start.tzinfo else start.replace(tzinfo=UTC)


def pytest_configure(config):
    # Before collection, so what a module computes when imported sees the same clock.
    # time-machine moves this process's clock (Python's time and datetime): the
    # tests' own travels nest inside it and come back to it. PostgreSQL, Redis and
    # any child process keep the real clock; see .ci/run for why that is enough.
    value = config.getoption("--clock-at")
    if value:
        travel = time_machine.travel(clock_start(value), tick=True)
        travel.start()
        config.stash[CLOCK_TRAVEL] = travel


def pytest_collection_modifyitems(config, items):
    if CLOCK_TRAVEL not in config.stash:
        return
    skip = pytest.mark.skip(reason="reads PostgreSQL's clock, which --clock-at does not move")
    for item in items:
        if item.get_closest_marker("real_database_clock"):
            item.add_marker(skip)


def pytest_unconfigure(config):
    travel = config.stash.get(CLOCK_TRAVEL, None)
    if travel is not None:
        travel.stop()


def pytest_report_header(config):
    from django.db import connection

    engine = connection.vendor
    broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
    clock = (f"started at {datetime.now(UTC):%A %Y-%m-%d %H:%M} UTC (--clock-at)"
             if CLOCK_TRAVEL in config.stash else "the real one")
    return [f"aftercare: database engine = {engine} ({settings.DATABASES['default']['ENGINE']}),"
            f" celery broker = {broker}, CI = {IN_CI}",
            f"aftercare: clock = {clock}"]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters live in the cache: each test starts with none."""
    from django.core.cache import cache

    try:
        cache.clear()
    except Exception:  # Redis away: the tests that need it say so themselves
        pass
    yield


@pytest.fixture(autouse=True)
def database_clock_follows_the_test_clock(request):
    """The product reads the time from the database (core.clock); tests travel in time.

    time-machine moves this process's clock, not PostgreSQL's: here the
    database's clock is the test's, so a test that travels a day ahead sees
    what falls due then. Tests of the database's own clock (a worker whose
    clock is off) mark themselves ``real_database_clock`` and keep the real one.
    """
    if request.node.get_closest_marker("real_database_clock"):
        yield
        return
    import core.clock

    real = core.clock.database_now
    database_clock_rebind(real, the_tests_clock)
    try:
        yield
    finally:
        database_clock_rebind(the_tests_clock, real)


def the_tests_clock() -> datetime:
    """The database's clock during a test: the test's own (time-machine's)."""
    from django.utils import timezone

    return timezone.now()


def database_clock_rebind(old, new) -> None:
    """Bind ``new`` as ``database_now`` in every loaded module that holds ``old``.

    ``from core.clock import database_now`` binds the function in the
    importing module, so each reader is rebound, core.clock included, not
    one re-export. A module first imported during a test takes the test's
    clock from core.clock; it is given the real one back with the others.
    """
    for module in list(sys.modules.values()):
        if getattr(module, "__dict__", {}).get("database_now") is old:
            module.database_now = new


@pytest.fixture
def afternoon():
    """The clock at 15:00 UTC on a Tuesday (15:00 in London, 11:00 in New York), ticking.

    Check-ins open at their clinic's send hour (10:00 local): a test that
    answers the check-in of a session "two days ago" needs that hour passed
    on the clinics' clocks, whatever the hour the suite runs at. Ask for it
    first, so the test's clinics and sessions are made on this clock.
    """
    with time_machine.travel(datetime(2026, 3, 10, 15, 0, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def one_rate_limit_window():
    """The clock stopped for the whole test, five seconds into a minute (15:00:05 UTC).

    The patient link's budget is counted in fixed windows of
    PATIENT_LINK_RATE_LIMIT's seconds (followups.ratelimit): on the running
    clock, a test whose requests straddle a window's edge counts them in two
    budgets and never reaches its limit.
    """
    with time_machine.travel(datetime(2026, 3, 10, 15, 0, 5, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def require_postgres():
    """Behaviour that depends on PostgreSQL: in CI it must run, never skip."""
    from django.db import connection

    if connection.vendor != "postgresql":
        if IN_CI:
            pytest.fail("CI must run this test on PostgreSQL: set DATABASE_URL")
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")


@pytest.fixture
def redis_url():
    """The real Redis the suite was pointed at; in CI it must be there."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith("redis://"):
        if IN_CI:
            pytest.fail("CI must run this test against Redis: set CELERY_BROKER_URL")
        pytest.skip("needs Redis (CELERY_BROKER_URL=redis://...)")
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not _reachable(parts.hostname, parts.port or 6379):
        if IN_CI:
            pytest.fail(f"Redis at {parts.hostname}:{parts.port} is unreachable")
        pytest.skip("Redis unreachable")
    return url


@pytest.fixture
def client():
    """A browser whose ``force_login`` signs in with a verified authenticator.

    Production requires the second factor (OTP_REQUIRED), and so do the
    tests: ``tests/security/test_second_factor.py`` shows a password alone
    gets nowhere; every other test signs in the way a nurse does, code given.
    """
    return VerifiedClient()


@pytest.fixture
def demo_mode(settings):
    """The demo's settings: seed_demo refuses to run unless DJANGO_DEBUG is true."""
    settings.DEBUG = True
    return settings


@pytest.fixture
def clinic(db):
    return ClinicFactory(name="Riverside Skin Clinic", timezone="Europe/London")


@pytest.fixture
def other_clinic(db):
    return ClinicFactory(name="Hilltop Aesthetics", timezone="America/New_York")


@pytest.fixture
def staff(clinic):
    return UserFactory(username="nurse", clinics=[clinic])


@pytest.fixture
def outsider(other_clinic):
    """Staff of another clinic: must see none of ``clinic``'s data."""
    return UserFactory(username="outsider", clinics=[other_clinic])


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def patient(clinic):
    return PatientFactory(clinic=clinic, first_name="Maya", last_name="Quintero")


@pytest.fixture
def api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def outsider_api(outsider):
    client = APIClient()
    client.force_authenticate(outsider)
    return client


@pytest.fixture
def twilio(settings):
    """A Twilio-compatible server on loopback (tests/support/twilio.py), texts sent to it."""
    from tests.support.twilio import FROM_NUMBER, TwilioServer

    with TwilioServer() as server:
        settings.SMS_BACKEND = "twilio"
        settings.TWILIO_ACCOUNT_SID = server.account_sid
        settings.TWILIO_AUTH_TOKEN = server.auth_token
        settings.TWILIO_FROM = FROM_NUMBER
        settings.TWILIO_API_URL = server.url
        yield server
