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
