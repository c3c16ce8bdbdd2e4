"""A bad environment variable stops start-up with one line naming it.

interface.md: "A bad value stops start-up with one clear line naming the
variable." Each entry point is run in a child process with clinic.settings:
``manage.py``, the WSGI module gunicorn loads, gunicorn itself, and Celery's
worker and beat.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k3y-for-the-configuration-tests-0123456789abcdefghijklmnopqrstuv"


@pytest.fixture
def base_env(tmp_path) -> dict[str, str]:
    """A development environment that starts; each test spoils one variable."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "AFTERCARE_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_DEBUG": "true",
    }


def run(args: list[str], env: dict[str, str], timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def manage_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", "check"], env)


def assert_one_line_naming(result: subprocess.CompletedProcess, variable: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert variable in lines[-1]
    assert lines[-1].startswith("configuration error: ")


def test_it_starts_with_the_embedded_defaults(base_env):
    result = manage_check(base_env)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_it_starts_with_every_variable_set_to_a_good_value(base_env, tmp_path):
    base_env.update({
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": GOOD_KEY,
        "DJANGO_ALLOWED_HOSTS": "clinic.example.com, www.clinic.example.com",
        "DATABASE_URL": "postgres://desk:s%40cret@db.internal:5432/aftercare",
        "DATABASE_PREPARED_STATEMENTS": "false",
        "CELERY_BROKER_URL": "redis://cache.internal:6379/0",
        "SITE_URL": "https://clinic.example.com",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": "587",
        "EMAIL_HOST_USER": "desk",
        "EMAIL_HOST_PASSWORD": "pw with spaces",
        "EMAIL_USE_TLS": "true",
        "DEFAULT_FROM_EMAIL": "Riverside Aftercare <aftercare@clinic.example.com>",
        "DJANGO_BEHIND_PROXY": "true",
        "TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.10, fd00::/8",
    })

    result = manage_check(base_env)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("variable", "value"), [
    ("DJANGO_DEBUG", "maybe"),
    ("DJANGO_DEBUG", "1"),
    ("DJANGO_DEBUG", "yes"),
    ("DJANGO_SECRET_KEY", "too-short"),
    ("DJANGO_ALLOWED_HOSTS", " , "),
    ("DJANGO_ALLOWED_HOSTS", "https://clinic.example.com"),
    ("DATABASE_URL", "mysql://x"),
    ("DATABASE_URL", "postgres://db.internal:5432"),
    ("DATABASE_URL", "postgres://db.internal:port/aftercare"),
    ("DATABASE_URL", "sqlite://"),
    ("DATABASE_PREPARED_STATEMENTS", "maybe"),
    ("CELERY_BROKER_URL", "nonsense"),
    ("CELERY_BROKER_URL", "redis://"),
    ("SITE_URL", "ftp://x"),
    ("SITE_URL", "clinic.example.com"),
    ("SITE_URL", "https://"),
    ("EMAIL_BACKEND", "smtp"),
    ("EMAIL_BACKEND", "django.core.mail.backends.smpt.EmailBackend"),
    ("EMAIL_PORT", "abc"),
    ("EMAIL_PORT", "70000"),
    ("EMAIL_USE_TLS", "yes"),
    ("EMAIL_USE_TLS", "on"),
    ("DEFAULT_FROM_EMAIL", "the clinic"),
    ("TRUSTED_PROXIES", "proxy.internal"),
    ("TRUSTED_PROXIES", "10.0.0.0/33"),
    ("TRUSTED_PROXIES", "10.0.0.7/8"),
    ("TRUSTED_PROXIES", " , "),
])
def test_it_refuses_a_bad_value_in_one_line_naming_the_variable(base_env, variable, value):
    base_env[variable] = value

    assert_one_line_naming(manage_check(base_env), variable)


def test_it_refuses_production_without_a_secret_key(base_env):
    base_env["DJANGO_DEBUG"] = "false"

    assert_one_line_naming(manage_check(base_env), "DJANGO_SECRET_KEY")


def test_it_refuses_the_dev_key_in_production(base_env):
    from clinic.settings import DEV_SECRET_KEY

    base_env.update(DJANGO_DEBUG="false", DJANGO_SECRET_KEY=DEV_SECRET_KEY)

    assert_one_line_naming(manage_check(base_env), "DJANGO_SECRET_KEY")


def test_it_refuses_an_email_file_path_that_is_a_file(base_env, tmp_path):
    a_file = tmp_path / "not-a-folder.txt"
    a_file.write_text("")
    base_env["EMAIL_FILE_PATH"] = str(a_file)

    assert_one_line_naming(manage_check(base_env), "EMAIL_FILE_PATH")


def test_it_refuses_the_file_backend_without_its_folder(base_env):
    base_env["EMAIL_BACKEND"] = "django.core.mail.backends.filebased.EmailBackend"

    assert_one_line_naming(manage_check(base_env), "EMAIL_FILE_PATH")


# The long-running entry points ------------------------------------------------------------


def test_the_wsgi_module_stops_with_one_line(base_env):
    base_env["DJANGO_DEBUG"] = "maybe"

    result = run([sys.executable, "-c", "import clinic.wsgi"], base_env)

    assert_one_line_naming(result, "DJANGO_DEBUG")


def test_gunicorn_stops_instead_of_restarting_workers_that_cannot_boot(base_env):
    base_env["EMAIL_PORT"] = "abc"

    result = run([sys.executable, "-m", "gunicorn", "clinic.wsgi:application",
                  "--workers", "1", "--bind", "127.0.0.1:0"], base_env, timeout=30)

    # Exit status 4: gunicorn's "App failed to load"; its own log lines follow ours.
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    assert "configuration error: EMAIL_PORT must be a whole number" in result.stderr


@pytest.mark.parametrize("command", ["worker", "beat"])
def test_celery_stops_with_one_line(base_env, command):
    base_env["CELERY_BROKER_URL"] = "nonsense"

    result = run([sys.executable, "-m", "celery", "-A", "clinic", command], base_env)

    assert_one_line_naming(result, "CELERY_BROKER_URL")


def test_postgresql_connections_prepare_frequent_statements_unless_switched_off():
    from core.env import database_from_url

    url = "postgres://desk@db.internal:5432/aftercare"

    assert database_from_url("DATABASE_URL", url)["OPTIONS"] == {
        "server_side_binding": True, "prepare_threshold": 5, "connect_timeout": 5,
        "options": "-c plan_cache_mode=force_custom_plan",
    }
    assert database_from_url("DATABASE_URL", url, prepared_statements=False)["OPTIONS"] == {
        "connect_timeout": 5}


def test_web_and_worker_connections_bound_their_statements_and_lock_waits():
    from core.env import database_from_url, database_timeouts

    url = "postgres://desk@db.internal:5432/aftercare"
    direct = database_from_url("DATABASE_URL", url, connect_timeout=3)
    pooled = database_from_url("DATABASE_URL", url, prepared_statements=False,
                               transaction_pooling=True)

    database_timeouts(direct, statement_seconds=5, lock_seconds=3)
    database_timeouts(pooled, statement_seconds=5, lock_seconds=3)

    assert direct["OPTIONS"]["connect_timeout"] == 3
    assert direct["OPTIONS"]["options"] == (
        "-c plan_cache_mode=force_custom_plan -c statement_timeout=5000 -c lock_timeout=3000")
    # A pooler in transaction mode refuses start-up options: set on the role there.
    assert "options" not in pooled["OPTIONS"]


@pytest.mark.django_db
def test_prepared_statements_are_planned_for_each_runs_values():
    """PostgreSQL is asked at connection for a plan per run: a generic plan, made for an
    average value, read every check-in to count the few sent ones."""
    from django.db import connection

    if not connection.settings_dict["OPTIONS"].get("server_side_binding"):
        pytest.skip("statements are not prepared on this connection (a pooler)")
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "force_custom_plan"
