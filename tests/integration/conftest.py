"""Fixtures for tests that run the real thing: PostgreSQL, Redis, Celery, gunicorn, SMTP.

Every process a test starts is in its own process group, writes its output to
a file under the test's tmp_path, is stopped at teardown, and has the tail of
its output attached to the report when the test fails.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from tests.support.broker import BrokerDatabase, broker_database_claimed
from tests.support.mail import RecordingSMTPServer, recorded_emails_clear
from tests.support.processes import (
    ProcessGroup,
    beat_schedule_make_due,
    database_url_for,
    process_command,
    service_env,
)


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
def broker_database(redis_url) -> Iterator[BrokerDatabase]:
    """An empty Redis database, claimed so that two runs of the suite at once never
    share one (and consume each other's tasks). Request it before ``processes``
    so the children are stopped before it is released."""
    with broker_database_claimed(redis_url) as database:
        yield database


@pytest.fixture
def broker_url(broker_database) -> str:
    return broker_database.url


@pytest.fixture
def broker_redis(broker_database):
    return broker_database.client


@pytest.fixture
def mail_dir(tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    return folder


@pytest.fixture
def recorded_mail(settings):
    """In-process sends go to a thread-safe list (tests.support.mail.recorded_emails)."""
    settings.EMAIL_BACKEND = "tests.support.mail.RecordingEmailBackend"
    recorded_emails_clear()
    yield
    recorded_emails_clear()


@pytest.fixture
def smtp_server():
    server = RecordingSMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def var_dir(tmp_path):
    """AFTERCARE_VAR_DIR of the child processes: beat's schedule file lives here."""
    folder = tmp_path / "var"
    folder.mkdir()
    return folder


@pytest.fixture
def celery_env(test_database_url, broker_url, mail_dir, var_dir):
    """The environment of a worker and a beat sharing the test database and broker."""

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
def start_worker(celery_env, processes):
    def start(name: str = "worker", **extra: str):
        return processes.start(name, process_command("worker"), env=celery_env(**extra))

    return start


@pytest.fixture
def start_beat(celery_env, var_dir, processes):
    """Beat, its schedule in var_dir; ``due_now`` makes its first sweep immediate."""

    def start(*, due_now: bool = True, **extra: str):
        env = celery_env(**extra)
        if due_now:
            beat_schedule_make_due(var_dir / "celerybeat-schedule", env=env)
        return processes.start("beat", process_command("beat"), env=env)

    return start
