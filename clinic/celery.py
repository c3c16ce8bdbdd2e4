"""The Celery app: settings from Django's, tasks found in each app's tasks.py."""

import os

from celery import Celery, signals

from core.env import stop_on_configuration_error
from core.startup import stop_on_system_check_errors

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("clinic")
# Celery first reads Django's settings deep inside its command line; going
# through `django_settings` below makes a bad environment variable one line
# naming it, not a traceback.
app.config_from_object("clinic.celery:django_settings", namespace="CELERY")
# Spelt as Celery 5 names them: in Django's settings, with the CELERY_ prefix,
# these three read as Celery 3's old names and Celery warns at every start.
app.conf.update(result_backend=None, task_serializer="json", accept_content=["json"])
app.autodiscover_tasks()
# Concerns of followups/ with tasks of their own (records: retention; webhooks: deliveries).
app.autodiscover_tasks(["followups.records", "followups.webhooks"])


@signals.worker_init.connect
@signals.beat_init.connect
def refuse_to_start_on_system_check_errors(**kwargs) -> None:
    """What `manage.py check` refuses, a worker and beat refuse: the worker writes
    the patients' emails, which a missing catalogue would leave in English."""
    stop_on_system_check_errors(exit_code=1)


def __getattr__(name: str):
    if name == "django_settings":
        from django.conf import settings

        with stop_on_configuration_error():
            settings.INSTALLED_APPS  # noqa: B018 -- loads clinic.settings now
        return settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@signals.worker_init.connect
def bound_database_waits(**kwargs) -> None:
    """A worker's statements and lock waits are bounded, longer than a web request's
    (the sweep, exports): before any connection is opened, so every pool process has it."""
    from django.conf import settings
    from django.db import connections

    from core.env import database_timeouts

    database_timeouts(settings.DATABASES["default"],
                      statement_seconds=settings.DATABASE_WORKER_STATEMENT_TIMEOUT,
                      lock_seconds=settings.DATABASE_LOCK_TIMEOUT)
    connections.close_all()


@signals.worker_shutting_down.connect
def pass_the_stop_on(**kwargs) -> None:
    """``docker stop`` signals the worker's main process only: the senders are told.

    In this process (the solo and threads pools send from it), and in every
    pool process: one that is sending stops after the message in hand and
    gives back its claims (followups.delivery.stopping); an idle one ends.
    """
    import contextlib
    import signal

    from billiard.process import active_children

    from followups.delivery.stopping import stop_request

    stop_request()
    for child in active_children():
        if child.pid is None:  # not started
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child.pid, signal.SIGTERM)
