"""Test helpers for the integration suite: mail catchers, process launchers, a broker cut-off.

Nothing here is used in production. The email backends are importable by path
so a subprocess (a Celery worker, ``manage.py dispatch_checkins``) can be
pointed at them through ``EMAIL_BACKEND``, like any other backend.
"""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.filebased import EmailBackend as FileEmailBackend

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Mail ------------------------------------------------------------------------------

_outbox_lock = threading.Lock()
_outbox: list[EmailMessage] = []


class RecordingEmailBackend(BaseEmailBackend):
    """Keeps every sent message in a process-wide list, safe under concurrent sweeps.

    Django's locmem backend is meant for one thread at a time; concurrent
    sweeps in threads all append here under one lock. Messages are stored as
    they would leave over SMTP (headers and all), parsed back.
    """

    def send_messages(self, email_messages):
        parsed = [_parse(message.message().as_bytes()) for message in email_messages]
        with _outbox_lock:
            _outbox.extend(parsed)
        return len(parsed)


def recorded_emails() -> list[EmailMessage]:
    with _outbox_lock:
        return list(_outbox)


def recorded_emails_clear() -> None:
    with _outbox_lock:
        _outbox.clear()


STALL_ENV = "AFTERCARE_TEST_SEND_STALL_SECONDS"


class SlowFileBackend(FileEmailBackend):
    """Writes the message to its file, then hangs before reporting success.

    Stands for an SMTP server that accepted the message while the worker died
    before recording it: kill the process during the stall and the email is
    out but the check-in still looks unsent. The stall comes from
    AFTERCARE_TEST_SEND_STALL_SECONDS (default 60).
    """

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        time.sleep(float(os.environ.get(STALL_ENV, "60")))
        return sent


_FILE_SEPARATOR = re.compile(rb"\n-{79}\n")


def _parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def mail_folder_messages(folder: Path) -> list[EmailMessage]:
    """Every message Django's file backend wrote into ``folder``, oldest file first."""
    messages = []
    if not folder.exists():
        return messages
    for path in sorted(folder.glob("*.log"), key=lambda p: (p.stat().st_mtime, p.name)):
        for chunk in _FILE_SEPARATOR.split(path.read_bytes()):
            if chunk.strip():
                messages.append(_parse(chunk.lstrip(b"\n")))
    return messages


def message_text(message: EmailMessage) -> str:
    """Headers and every decoded text part: all a reader of the email could see."""
    parts = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


def message_plain_body(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""


@dataclass
class RecordingSMTPServer:
    """An SMTP server on loopback that keeps what it receives (aiosmtpd)."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: object = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        message = _parse(envelope.original_content or envelope.content)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def start(self) -> RecordingSMTPServer:
        from aiosmtpd.controller import Controller

        self.port = self.port or free_port()
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)

    def __enter__(self) -> RecordingSMTPServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


# Waiting -----------------------------------------------------------------------------


def wait_until(predicate: Callable[[], object], *, timeout: float, interval: float = 0.25,
               message: str = "condition") -> object:
    """Poll ``predicate`` until it returns something truthy, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"gave up after {timeout:g}s waiting for {message}")
        time.sleep(interval)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


# Processes -----------------------------------------------------------------------------


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
    from clinic.processes import PROCESSES

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
        "CELERY_BROKER_URL": broker_url,
        "AFTERCARE_VAR_DIR": str(var_dir),
        "SITE_URL": site_url,
    })
    env.update({key: str(value) for key, value in extra.items()})
    return env


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


# Redis -------------------------------------------------------------------------------


def redis_readable_dump(client) -> list[str]:
    """Every key and value in the client's database as text, Celery bodies decoded.

    Celery's Redis transport stores each message as JSON whose ``body`` is
    base64: decoded here, or a leak inside a task's arguments would be missed.
    """
    texts: list[str] = []
    for key in client.scan_iter(count=500):
        texts.append(_text(key))
        kind = _text(client.type(key))
        if kind == "string":
            values = [client.get(key)]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "hash":
            values = [item for pair in client.hgetall(key).items() for item in pair]
        elif kind == "set":
            values = list(client.smembers(key))
        elif kind == "zset":
            values = [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
        else:
            values = []
        for value in values:
            texts.extend(_decoded(value))
    return texts


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _decoded(value) -> Iterator[str]:
    text = _text(value)
    yield text
    try:
        payload = json.loads(text)
    except ValueError:
        return
    candidates = payload if isinstance(payload, list) else [payload]
    for item in candidates:
        if isinstance(item, dict) and isinstance(item.get("body"), str):
            with contextlib.suppress(ValueError):
                yield base64.b64decode(item["body"]).decode("utf-8", "replace")


# A broker that can vanish ---------------------------------------------------------------


class SwitchableTCPProxy:
    """A loopback TCP proxy in front of a server, which a test can cut off or freeze.

    Takes "Redis" away from one worker, or from this process's Celery
    producer, without touching the shared Redis server other tests use:

    - ``down()``: every connection is closed and the port refuses new ones
      (Redis stopped);
    - ``hang()``: connections are accepted but nothing is ever answered
      (Redis paused, a half-dead network);
    - ``up()``: forwarding again, on the same port.
    """

    def __init__(self, upstream_host: str, upstream_port: int, *, host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.host = host
        self.port = free_port(host)
        self.forwarding = True
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None

    def url(self, database: int | str = 0) -> str:
        return f"redis://{self.host}:{self.port}/{database}"

    def up(self) -> SwitchableTCPProxy:
        self._close_connections()
        self.forwarding = True
        self._listen()
        return self

    def hang(self) -> SwitchableTCPProxy:
        self._close_connections()
        self.forwarding = False
        self._listen()
        return self

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if self._accepting is not None:
            self._accepting.join(timeout=5)
            self._accepting = None
        self._close_connections()

    def _listen(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept_loop, args=(listener,),
                                           name=f"proxy-accept-{self.port}", daemon=True)
        self._accepting.start()

    def _close_connections(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            if not self.forwarding:
                with self._lock:  # held, never answered
                    self._sockets.add(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=2)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets.update((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            # One direction ending ends the connection: the other pump wakes up too.
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self._lock:
                self._sockets.difference_update((source, target))

    def __enter__(self) -> SwitchableTCPProxy:
        return self

    def __exit__(self, *exc_info) -> None:
        self.down()


@contextlib.contextmanager
def celery_producer_broker(url: str) -> Iterator[None]:
    """Send this process's tasks (``clinic.celery.app``) to another broker for a while.

    Sessions and answers recorded in the test process enqueue their sweeps
    through the project's Celery app; this points its producer, and only its
    producer, at ``url`` (a dedicated database, or a proxy a test can cut).
    """
    from kombu import pools

    from clinic.celery import app

    def reset_pools() -> None:
        # kombu keeps one pool per broker address in a global registry: clear
        # it too, or the next swap to the same address gets a closed pool.
        app._pool = None
        app.amqp._producer_pool = None
        pools.reset()

    saved = app.conf.get("broker_write_url")
    reset_pools()
    app.conf.broker_write_url = url
    try:
        yield
    finally:
        reset_pools()
        app.conf.broker_write_url = saved


def find_words(texts: Iterable[str], words: Iterable[str]) -> list[tuple[str, str]]:
    """(word, excerpt) for each word found in the texts, matched as a whole word.

    Letters on either side make it another word ("crash" is not "rash"), but an
    underscore or a digit does not ("SEVERE_RASH" counts).
    """
    patterns = {word: re.compile(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", re.IGNORECASE)
                for word in words}
    found = []
    for text in texts:
        for word, pattern in patterns.items():
            match = pattern.search(text)
            if match:
                start = max(match.start() - 60, 0)
                found.append((word, text[start:match.end() + 60]))
    return found
