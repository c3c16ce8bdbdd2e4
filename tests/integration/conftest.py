"""Fixtures for tests that run the real thing: PostgreSQL, Redis, Celery, gunicorn, SMTP.

Every process a test starts is in its own process group, writes its output to
a file under the test's tmp_path, is stopped at teardown, and has the tail of
its output attached to the report when the test fails.
"""

from __future__ import annotations

import secrets

import pytest
from django.db import connection

from clinic.testing import (
    ProcessGroup,
    RecordingSMTPServer,
    beat_schedule_make_due,
    database_url_for,
    recorded_emails_clear,
    replace_option,
    service_env,
    venv_command,
)

try:  # The lead's single source for the Procfile and docker-compose commands.
    from clinic.processes import PROCESSES
except ImportError:  # not written yet: the same commands, kept here meanwhile
    PROCESSES = {
        "web": ["gunicorn", "clinic.wsgi:application", "--bind", "127.0.0.1:8000",
                "--workers", "2", "--timeout", "30"],
        "worker": ["celery", "-A", "clinic", "worker", "--loglevel=info", "--concurrency=2",
                   "--without-gossip", "--without-mingle"],
        "beat": ["celery", "-A", "clinic", "beat", "--loglevel=info",
                 "--schedule", "var/celerybeat-schedule"],
    }

# The shared Redis's databases 0-5 are left to the rest of the suite and to
# development; an integration test claims one of these for its broker.
BROKER_DATABASES = range(15, 5, -1)
CLAIM_KEY = "aftercare:integration-test:claim"


def command(name: str, **options: str) -> list[str]:
    """A process's production command line, with some options pointed elsewhere."""
    argv = list(PROCESSES[name])
    for option, value in options.items():
        argv = replace_option(argv, option, value)
    return venv_command(argv)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    group = getattr(item, "_integration_processes", None)
    if group is not None and report.failed and group.processes:
        report.sections.append(("subprocess output (tails)", group.tails()))
    return report


@pytest.fixture
def processes(request, tmp_path):
    group = ProcessGroup(tmp_path / "logs")
    request.node._integration_processes = group
    yield group
    group.stop_all()


@pytest.fixture
def test_database_url(require_postgres, transactional_db) -> str:
    """The pytest-django test database, for child processes to share with the test.

    Only a transactional test's writes are visible to another connection.
    """
    return database_url_for(connection.settings_dict)


@pytest.fixture
def broker_url(redis_url) -> str:
    """A Redis database of the suite's Redis server, empty and ours for this test."""
    import redis

    base = redis_url.rsplit("/", 1)[0] if redis_url.count("/") > 2 else redis_url
    token = secrets.token_hex(8)
    for number in BROKER_DATABASES:
        client = redis.Redis.from_url(f"{base}/{number}")
        # A claim key rather than a fixed number: two runs of the suite at once
        # must not consume each other's tasks.
        if client.set(CLAIM_KEY, token, nx=True, ex=900):
            client.flushdb()
            client.set(CLAIM_KEY, token, ex=900)
            break
        client.close()
    else:
        pytest.fail("no free Redis database (6-15) for the integration test's broker")
    try:
        yield f"{base}/{number}"
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def broker_redis(broker_url):
    import redis

    client = redis.Redis.from_url(broker_url)
    yield client
    client.close()


@pytest.fixture
def mail_dir(tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    return folder


@pytest.fixture
def recorded_mail(settings):
    """In-process sends go to a thread-safe list (clinic.testing.recorded_emails)."""
    settings.EMAIL_BACKEND = "clinic.testing.RecordingEmailBackend"
    recorded_emails_clear()
    yield
    recorded_emails_clear()


@pytest.fixture
def smtp_server():
    server = RecordingSMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def celery_env(test_database_url, broker_url, mail_dir, tmp_path):
    """The environment of a worker and a beat sharing the test database and broker."""
    var_dir = tmp_path / "var"
    var_dir.mkdir()

    def build(**extra: str) -> dict[str, str]:
        settings_env = {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
            **extra,
        }
        return service_env(database_url=test_database_url, broker_url=broker_url,
                           var_dir=var_dir, **settings_env)

    return build


@pytest.fixture
def start_worker(processes, celery_env):
    def start(name: str = "worker", **extra: str):
        return processes.start(name, command("worker"), env=celery_env(**extra))

    return start


@pytest.fixture
def start_beat(processes, celery_env, tmp_path):
    """Beat with its schedule in tmp; ``due_now`` makes its first sweep immediate."""

    def start(*, due_now: bool = True, **extra: str):
        env = celery_env(**extra)
        schedule = tmp_path / "celerybeat-schedule"
        if due_now:
            beat_schedule_make_due(schedule, env=env)
        return processes.start("beat", command("beat", **{"--schedule": str(schedule)}),
                               env=env)

    return start
