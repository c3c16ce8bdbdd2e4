"""The product's processes, read from the Procfile, and the child processes a test starts.

The demo (honcho), docker-compose.yml and the production-stack test all run
the Procfile's commands; it is the one place they are written. gunicorn's
address comes from GUNICORN_CMD_ARGS (default 127.0.0.1:8000).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from tests.support import PROJECT_DIR

PROCFILE = PROJECT_DIR / "Procfile"


def processes(procfile: Path = PROCFILE) -> dict[str, list[str]]:
    commands: dict[str, list[str]] = {}
    for line in procfile.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        commands[name.strip()] = shlex.split(command)
    return commands


PROCESSES = processes()


class ManagedProcess:
    """A subprocess in its own process group, its output in a file, always reaped.

    ``stop`` sends SIGTERM to the whole group (a Celery worker's pool children,
    gunicorn's workers) and SIGKILLs what is left after a grace period.
    """

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], log_dir: Path,
                 cwd: Path = PROJECT_DIR):
        self.name = name
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.log_path = Path(log_dir) / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self._stopped = False

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL the whole group at once: a crash, no chance to clean up."""
        if self.process is None or self._stopped:
            return
        self._stopped = True
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def stop(self, grace: float = 10.0) -> None:
        if self.process is None or self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the group (orphaned pool children) goes too.
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output().splitlines()[-lines:])


class ProcessGroup:
    """The processes a test started; stopped in reverse order, logs shown on failure."""

    def __init__(self, log_dir: Path):
        self.log_dir = Path(log_dir)
        self.processes: list[ManagedProcess] = []

    def start(self, name: str, argv: list[str], *, env: dict[str, str]) -> ManagedProcess:
        process = ManagedProcess(name, argv, env=env, log_dir=self.log_dir)
        self.processes.append(process)
        return process.start()

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def tails(self, lines: int = 60) -> str:
        return "\n".join(
            f"----- {process.name} ({process.log_path}) -----\n{process.tail(lines)}"
            for process in self.processes
        )


def process_command(name: str) -> list[str]:
    """A process's command line exactly as the Procfile and docker-compose run it.

    Only the executable is resolved to this virtualenv's; addresses and
    folders come from the environment (GUNICORN_CMD_ARGS, AFTERCARE_VAR_DIR).
    """
    argv = list(PROCESSES[name])
    candidate = Path(sys.executable).parent / argv[0]
    if candidate.exists():
        return [str(candidate), *argv[1:]]
    if argv[0] == "python":
        return [sys.executable, *argv[1:]]
    return argv


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    """Run ``manage.py`` in a child with ``env``; its output, or an error that shows it."""
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result.stdout


# Variables the test runner may carry that must not leak into a child's configuration.
_CONFIG_PREFIXES = ("DJANGO_", "DATABASE_", "CELERY_", "EMAIL_", "AFTERCARE_", "SITE_URL",
                    "STAFF_PASSWORD", "DEFAULT_FROM_EMAIL")


def service_env(*, database_url: str, broker_url: str, var_dir: Path,
                site_url: str = "http://127.0.0.1:8000", **extra: str) -> dict[str, str]:
    """The environment of a production process, as docker-compose would give it."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(_CONFIG_PREFIXES)}
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(PROJECT_DIR),
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DJANGO_SECRET_KEY": "integration-only-secret-key-9f8e7d6c5b4a39281706",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": database_url,
        # Reached the way this process reaches it: through PgBouncer in
        # transaction mode, a child must not prepare statements either.
        "DATABASE_TRANSACTION_POOLING": _transaction_pooling(),
        "CELERY_BROKER_URL": broker_url,
        "AFTERCARE_VAR_DIR": str(var_dir),
        "SITE_URL": site_url,
    })
    env.update({key: str(value) for key, value in extra.items()})
    return env


def _transaction_pooling() -> str:
    from django.conf import settings

    return "true" if getattr(settings, "DATABASE_TRANSACTION_POOLING", False) else "false"


def database_url_for(database: dict) -> str:
    """A postgres:// URL for a Django DATABASES entry (the test database, say)."""
    from urllib.parse import quote

    user = quote(database.get("USER") or "", safe="")
    password = quote(database.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = database.get("HOST") or "127.0.0.1"
    port = database.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{quote(database['NAME'], safe='')}"


def beat_schedule_make_due(schedule_path: Path, *, env: dict[str, str]) -> None:
    """Write beat's schedule file as if the last sweep ran an hour ago.

    A fresh beat first sends a one-minute entry a minute after it starts;
    a beat that has been running sends it at once. Run in a child with the
    beat's own environment, so the stored time zone settings match.
    """
    code = (
        "from datetime import timedelta\n"
        "from celery.beat import PersistentScheduler\n"
        "from clinic.celery import app\n"
        f"scheduler = PersistentScheduler(app=app, schedule_filename={str(schedule_path)!r})\n"
        "for entry in scheduler.schedule.values():\n"
        "    entry.last_run_at = app.now() - timedelta(hours=1)\n"
        "scheduler.sync()\n"
        "scheduler.close()\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, cwd=PROJECT_DIR, check=True,
                   capture_output=True, timeout=60)

