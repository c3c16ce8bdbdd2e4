import os

from django.core.wsgi import get_wsgi_application

from core.env import stop_on_configuration_error
from core.startup import stop_on_system_check_errors

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

# A bad environment variable is one line naming it, not a traceback. Exit
# status 4 is gunicorn's "App failed to load": the master stops instead of
# restarting workers that can never boot.
with stop_on_configuration_error(exit_code=4):
    application = get_wsgi_application()


def _bound_database_waits() -> None:
    """A web request's statements give up after a few seconds, and so do its lock
    waits: a locked table is the calm 503 page, not a worker timeout (core.env)."""
    from django.conf import settings
    from django.db import connections

    from core.env import database_timeouts

    database_timeouts(settings.DATABASES["default"],
                      statement_seconds=settings.DATABASE_STATEMENT_TIMEOUT,
                      lock_seconds=settings.DATABASE_LOCK_TIMEOUT)
    connections.close_all()


_bound_database_waits()
# What `manage.py check` refuses, gunicorn refuses too, with the same status:
# a patient language without its catalogue would serve English (patients.checks).
stop_on_system_check_errors(exit_code=4)
