"""The fleet's variables (interface.md): a bad value stops start-up with one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8",
            "DJANGO_SETTINGS_MODULE": "clinic.settings", "DJANGO_DEBUG": "true",
            "AFTERCARE_VAR_DIR": str(tmp_path / "var")}


def settings_of(env: dict[str, str], expression: str) -> subprocess.CompletedProcess:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    return subprocess.run([sys.executable, "-c", code], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=60)


def manage_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=60)


def assert_one_line_naming(result: subprocess.CompletedProcess, variable: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: ") and variable in lines[0]


@pytest.mark.parametrize("changes, variable", [
    ({"MEDIA_STORAGE": "nfs"}, "MEDIA_STORAGE"),
    ({"MEDIA_STORAGE": "s3"}, "S3_BUCKET"),
    ({"MEDIA_STORAGE": "s3", "S3_BUCKET": "photos", "S3_ENDPOINT_URL": "minio:9000"},
     "S3_ENDPOINT_URL"),
    ({"MEDIA_STORAGE": "s3", "S3_BUCKET": "photos", "AWS_ACCESS_KEY_ID": "AKIA0"},
     "AWS_SECRET_ACCESS_KEY"),
    ({"DATABASE_TRANSACTION_POOLING": "yes"}, "DATABASE_TRANSACTION_POOLING"),
    ({"DATABASE_URL": "postgres://db:6432/aftercare", "DATABASE_TRANSACTION_POOLING": "true",
      "DATABASE_PREPARED_STATEMENTS": "true"}, "DATABASE_PREPARED_STATEMENTS"),
    ({"CELERY_BROKER_URL": "sentinel://127.0.0.1:26379"}, "CELERY_BROKER_SENTINEL_MASTER"),
    ({"CELERY_BROKER_URL": "sentinel://:secret@127.0.0.1:26379;redis://10.0.0.9",
      "CELERY_BROKER_SENTINEL_MASTER": "aftercare"}, "CELERY_BROKER_URL"),
])
def test_it_refuses_a_bad_value_in_one_line(env, changes, variable):
    result = manage_check({**env, **changes})

    assert_one_line_naming(result, variable)
    assert "secret" not in result.stderr  # a password in the URL is never repeated


def test_the_file_store_stays_the_embedded_default(env):
    result = settings_of(env, "settings.STORAGES['default']['BACKEND']")

    assert result.stdout.strip() == "django.core.files.storage.FileSystemStorage", result.stderr


def test_transaction_pooling_turns_off_server_side_cursors_and_prepared_statements(env):
    pooled = {**env, "DATABASE_URL": "postgres://app@pgbouncer:6432/aftercare",
              "DATABASE_TRANSACTION_POOLING": "true"}

    result = settings_of(pooled, "settings.DATABASES['default']['DISABLE_SERVER_SIDE_CURSORS'],"
                                 " settings.DATABASES['default']['OPTIONS']")

    assert result.stdout.strip() == (
        "True {'prepare_threshold': None, 'connect_timeout': 5}"), result.stderr


def test_without_a_pooler_statements_stay_prepared(env):
    direct = {**env, "DATABASE_URL": "postgres://app@db:5432/aftercare"}

    result = settings_of(direct, "settings.DATABASES['default']['DISABLE_SERVER_SIDE_CURSORS'],"
                                 " settings.DATABASES['default']['OPTIONS']")

    assert result.stdout.strip() == (
        "False {'server_side_binding': True, 'prepare_threshold': 5, "
        "'options': '-c plan_cache_mode=force_custom_plan', 'connect_timeout': 5}"
    ), result.stderr


def test_a_sentinel_broker_gives_the_broker_and_the_cache_its_primary(env):
    sentinel = {**env, "CELERY_BROKER_URL": "sentinel://10.0.0.5:26379;sentinel://10.0.0.6:26379",
                "CELERY_BROKER_SENTINEL_MASTER": "aftercare"}

    result = settings_of(sentinel, "settings.CELERY_BROKER_TRANSPORT_OPTIONS['master_name'],"
                                   " settings.CACHES['default']['BACKEND'],"
                                   " settings.CACHES['default']['OPTIONS']['master_name']")

    assert result.stdout.strip() == "aftercare core.cache.SentinelRedisCache aftercare", (
        result.stderr)
