"""docker-compose's health checks, run for real: beat is healthy while sweeps finish."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
import yaml
from django.utils import timezone

from health.heartbeat import sweep_heartbeat_record
from tests.support import PROJECT_DIR
from tests.support.processes import service_env

pytestmark = pytest.mark.services

SERVICES = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())["services"]


def compose_check(name: str, env: dict[str, str]) -> int:
    kind, *argv = SERVICES[name]["healthcheck"]["test"]
    assert kind == "CMD" and argv[0] == "python"
    import sys

    return subprocess.run([sys.executable, *argv[1:]], cwd=PROJECT_DIR, env=env,
                          capture_output=True, timeout=60).returncode


def test_beat_is_unhealthy_until_a_sweep_finishes_and_again_once_they_stop(
        test_database_url, tmp_path):
    env = service_env(database_url=test_database_url, broker_url="memory://",
                      var_dir=tmp_path, DJANGO_SETTINGS_MODULE="clinic.settings")

    assert compose_check("beat", env) == 1  # no sweep yet
    sweep_heartbeat_record(now=timezone.now())
    assert compose_check("beat", env) == 0
    sweep_heartbeat_record(now=timezone.now() - timedelta(minutes=6))
    assert compose_check("beat", env) == 1


def test_web_is_healthy_only_when_ready():
    [_kind, _python, _c, code] = SERVICES["web"]["healthcheck"]["test"]
    assert "/readyz" in code
