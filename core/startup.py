"""Before a long-running process serves: Django's system checks, as `manage.py` runs them.

`manage.py` refuses to run a command while a system check reports an error (a
patient language without its catalogue, say). gunicorn runs no checks, and
Celery runs them but ignores what they say; their entry points (clinic/wsgi.py,
clinic/celery.py) call this instead: one line per error, then exit.
"""

from __future__ import annotations

import sys


def stop_on_system_check_errors(*, exit_code: int) -> None:
    from django.core import checks

    errors = [message for message in checks.run_checks()
              if message.is_serious() and not message.is_silenced()]
    if not errors:
        return
    for error in errors:
        sys.stderr.write(f"system check error: {' '.join(str(error).split())}\n")
    sys.stderr.flush()
    raise SystemExit(exit_code)
