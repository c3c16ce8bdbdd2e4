"""docker-compose.yml is checked here: there is no Docker engine to run it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

from tests.support.processes import PROCESSES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_it_defines_the_production_services():
    assert set(SERVICES) == {"db", "redis", "migrate", "web", "worker", "beat", "proxy"}


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_it_runs_the_same_commands_as_the_demo(name):
    assert SERVICES[name]["command"] == PROCESSES[name]


@pytest.mark.parametrize("name", ["db", "redis", "web", "worker", "beat"])
def test_each_long_running_service_has_a_health_check(name):
    assert SERVICES[name]["healthcheck"]["test"]


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_app_services_wait_for_migrations_and_redis(name):
    depends = SERVICES[name]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["redis"]["condition"] == "service_healthy"


def test_migrate_waits_for_a_healthy_database():
    assert SERVICES["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert SERVICES["migrate"]["restart"] == "no"


def test_every_command_names_an_entry_point_that_exists():
    wsgi_module, _, attribute = SERVICES["web"]["command"][1].partition(":")
    assert callable(getattr(importlib.import_module(wsgi_module), attribute))
    for name in ("worker", "beat"):
        command = SERVICES[name]["command"]
        app_module = command[command.index("-A") + 1]
        assert importlib.import_module(app_module).celery_app.main == "clinic"
    migrate = SERVICES["migrate"]["command"]
    assert (ROOT / migrate[1]).is_file()
    assert migrate[2] in get_commands()


def test_beat_schedules_the_sweep_task_the_worker_knows():
    from django.conf import settings

    from clinic.celery import app

    app.loader.import_default_modules()
    task_names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert task_names <= set(app.tasks)
