"""Check-in delivery through real Celery workers on Redis, to an SMTP server that takes 50 ms.

The rows are marked due, then the benchmark plays beat: it sends the
``followups.sweep`` task by name (expiring in 55 s, as beat's schedule does,
and again every minute until the run ends), a worker's sweep counts the due
rows and asks for ``followups.deliver`` tasks, and the workers claim and send
the batches. The timer runs from that first sweep until the SMTP sink has
received the invitation of every due check-in.

The sink (aiosmtpd, on a free loopback port, in this process) answers each
message's DATA after ``asyncio.sleep(SINK_DELAY)``: concurrent connections
overlap, so N workers, each sending one message at a time, can at best send
N / 50 ms. It records every message's ``Message-ID``; a check-in's is stable
(``followups.delivery.channels.email.messages.checkin_message_id``), so a second
copy is a duplicate.

Each worker is ``celery -A clinic worker`` as the Procfile runs it, with
``--concurrency 1`` (one sending process each), Django's SMTP backend
pointed at the sink, the benchmark's database, and a Redis database of its
own (claimed as the integration tests claim theirs, flushed before and
after). One worker, then four; each set first delivers a few batches
untimed, so every worker has imported, connected and compiled its templates
as a worker in service has.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.report import INFO, Result, Target

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SINK_DELAY = 0.05  # seconds the sink takes per message
WORKER_SETS = (1, 4)
TARGET_SPEEDUP = 3.0
TARGET_IDEAL_RATIO = 0.7
WARMUP_ROWS = 200  # enough batches of 50 for every one of 4 workers to send some
BEAT_INTERVAL = 60.0  # beat's schedule: a sweep a minute, each expiring in 55 s
SWEEP_EXPIRES = 55
SETTLE_SECONDS = 1.0  # after the last email: time for a late duplicate to arrive

REDIS_BASE = "redis://127.0.0.1:6379"
# Claimed with the integration tests' key, so neither takes the other's database.
REDIS_DATABASES = (11, 12, 13, 14, 15, 10, 9, 8, 7, 6)
REDIS_CLAIM_KEY = "aftercare:integration-test:claim"
REDIS_CLAIM_SECONDS = 1800

INVITATION_ID = re.compile(r"<checkin-(\d+)-\d+-invitation@")
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)


# Pure helpers (tests/test_bench_smoke.py) --------------------------------------------------

def message_id_of(raw: bytes) -> str:
    """The ``Message-ID`` header of a raw message, as sent ("" if it has none)."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    value = _HEADERS.parsebytes(head + b"\r\n\r\n").get("Message-ID", "")
    return " ".join(str(value).split())


def invitation_checkin(message_id: str) -> int | None:
    """The check-in id an invitation's ``Message-ID`` names, or None for any other email."""
    match = INVITATION_ID.match(message_id)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Tally:
    """What the sink received during one run, against the check-ins that were due."""

    delivered: int  # due check-ins whose invitation arrived at least once
    duplicates: int  # copies beyond the first, for due check-ins
    others: int  # emails that were not the invitation of a due check-in
    last_first_arrival: float | None  # when the last due check-in's first copy arrived


def tally(received: list[tuple[str, float]], due: set[int]) -> Tally:
    """``received`` is (Message-ID, arrival time) in arrival order."""
    first: dict[int, float] = {}
    duplicates = others = 0
    for message_id, arrived in received:
        checkin = invitation_checkin(message_id)
        if checkin not in due:
            others += 1
        elif checkin in first:
            duplicates += 1
        else:
            first[checkin] = arrived
    return Tally(delivered=len(first), duplicates=duplicates, others=others,
                 last_first_arrival=max(first.values()) if first else None)


def ideal_rate(workers: int, delay: float = SINK_DELAY) -> float:
    """Emails/s if each worker did nothing but wait for the sink."""
    return workers / delay


def process_group_ticks(stat: str) -> tuple[int, int]:
    """(process group, utime + stime in clock ticks) from a ``/proc/<pid>/stat`` line."""
    # The command name (field 2) is in parentheses and may hold spaces.
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[2]), int(fields[11]) + int(fields[12])


@dataclass
class Run:
    workers: int
    due: int
    seconds: float
    tally: Tally
    sweeps_sent: int
    cpu_seconds: float  # the workers' processes, main and pool children
    database: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.due / self.seconds if self.seconds > 0 else float("inf")

    def problems(self) -> list[str]:
        found = []
        if self.tally.delivered != self.due:
            found.append(f"{self.workers} worker(s): {self.tally.delivered} of {self.due} due "
                         f"check-ins reached the sink")
        if self.tally.others:
            found.append(f"{self.workers} worker(s): {self.tally.others} other email(s)")
        db = self.database
        if db and (db["sent"] != self.due or db["claimed"] or db["stuck"]):
            found.append(f"{self.workers} worker(s): in the database {db['sent']} of {self.due} "
                         f"sent, {db['claimed']} still claimed, {db['stuck']} open with "
                         f"nothing scheduled")
        return found


def delivery_rows(runs: dict[int, Run], *, note_extra: str = "") -> list[Result]:
    """The table's rows for a one-worker and a four-worker run."""
    one, four = runs[1], runs[4]
    problems = one.problems() + four.problems()

    def described(run: Run) -> str:
        per_email = run.cpu_seconds / max(run.due, 1) * 1000
        return (f"{run.due:,} due in {run.seconds:.1f} s, {run.sweeps_sent} sweep(s) sent; "
                f"workers' CPU {per_email:.1f} ms per email; "
                f"{run.database.get('links', '?')} links")

    ideal_one, ideal_four = ideal_rate(1), ideal_rate(4)
    rows = [
        Result(
            operation="Check-in delivery, 1 Celery worker, SMTP 50 ms/message",
            figure=f"{one.rate:,.1f} emails/s",
            baseline=f"ideal 1 / 50 ms = {ideal_one:g} emails/s", ratio=one.rate / ideal_one,
            status=INFO, note=f"{described(one)}. {note_extra}".strip()),
        Result(
            operation="Check-in delivery, 4 Celery workers: speed-up",
            figure=f"{four.rate:,.1f} emails/s", baseline=f"1 worker: {one.rate:,.1f} emails/s",
            ratio=four.rate / one.rate if one.rate else None,
            target=Target(">=", TARGET_SPEEDUP), note=described(four)),
        Result(
            operation="Check-in delivery, 4 Celery workers: against the ideal",
            figure=f"{four.rate:,.1f} emails/s",
            baseline=f"ideal 4 / 50 ms = {ideal_four:g} emails/s",
            ratio=four.rate / ideal_four, target=Target(">=", TARGET_IDEAL_RATIO)),
        Result(
            operation="Check-in delivery: duplicate emails (1 and 4 workers)",
            figure=f"{one.tally.duplicates + four.tally.duplicates} duplicates",
            value=float(one.tally.duplicates + four.tally.duplicates),
            target=Target("<=", 0, "duplicates"),
            checks=[("every due check-in sent once, none stuck", not problems)],
            note="; ".join(problems) or (
                "by Message-ID at the sink, after the workers stopped; every due check-in "
                "reached the sink and is sent in the database, none still claimed")),
    ]
    return rows


# The SMTP sink -----------------------------------------------------------------------------

class SlowSink:
    """An SMTP server on loopback that takes ``delay`` per message and records its Message-ID."""

    def __init__(self, delay: float = SINK_DELAY):
        self.delay = delay
        self.port = 0
        self._lock = threading.Lock()
        self._received: list[tuple[str, float]] = []
        # Kept as messages arrive, so that watching a run costs O(1) a look.
        self._expected: set[int] = set()
        self._first: dict[int, float] = {}
        self._controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        await asyncio.sleep(self.delay)
        message_id = message_id_of(envelope.original_content or envelope.content)
        arrived = time.monotonic()
        checkin = invitation_checkin(message_id)
        with self._lock:
            self._received.append((message_id, arrived))
            if checkin in self._expected and checkin not in self._first:
                self._first[checkin] = arrived
        return "250 Message accepted for delivery"

    def start(self) -> SlowSink:
        from aiosmtpd.controller import Controller

        from bench.patient_form import _free_port

        # aiosmtpd logs each connection at INFO; the benchmark's output needs none of it.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.port = _free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                      ready_timeout=10)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[tuple[str, float]]:
        with self._lock:
            return list(self._received)

    def expect(self, due: set[int]) -> None:
        """Forget what came before; count first arrivals of ``due`` from now on."""
        with self._lock:
            self._received.clear()
            self._expected = set(due)
            self._first = {}

    def progress(self) -> tuple[int, float | None]:
        """How many expected check-ins have arrived, and when the latest first did."""
        with self._lock:
            return len(self._first), max(self._first.values(), default=None)


# The broker --------------------------------------------------------------------------------

class BrokerDatabase:
    """A Redis database of its own: claimed, flushed before use and flushed after."""

    def __init__(self) -> None:
        import redis

        self.token = secrets.token_hex(8)
        self.client = None
        self.url = ""
        for number in REDIS_DATABASES:
            client = redis.Redis.from_url(f"{REDIS_BASE}/{number}", socket_timeout=5,
                                          socket_connect_timeout=2)
            if client.set(REDIS_CLAIM_KEY, self.token, nx=True, ex=REDIS_CLAIM_SECONDS):
                self.client, self.url = client, f"{REDIS_BASE}/{number}"
                break
            client.close()
        if self.client is None:
            raise RuntimeError("no free Redis database (6-15) for the delivery benchmark")
        self.flush()

    def flush(self) -> None:
        """Empty it but keep the claim, in one transaction."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.flushdb()
            pipe.set(REDIS_CLAIM_KEY, self.token, ex=REDIS_CLAIM_SECONDS)
            pipe.execute()

    def release(self) -> None:
        try:
            self.client.flushdb()
        finally:
            self.client.close()


# The workers -------------------------------------------------------------------------------

class Workers:
    """``count`` Celery worker processes, each ``--concurrency 1``, in their own process groups."""

    def __init__(self, *, count: int, env: dict[str, str], log_dir: Path):
        self.count = count
        self.env = env
        self.log_dir = log_dir
        self.names = [f"bench-delivery-{count}-{n}@{os.uname().nodename}" for n in range(count)]
        self.processes: list[subprocess.Popen] = []
        self._logs = []

    def start(self, *, timeout: float = 120) -> None:
        celery = Path(sys.executable).parent / "celery"
        for name in self.names:
            log = open(self._log_path(name), "wb")  # closed in stop()
            self._logs.append(log)
            # The Procfile's worker, one sending process each.
            command = [str(celery), "-A", "clinic", "worker", "--loglevel=info",
                       "--concurrency=1", "--pool=prefork", "--without-gossip",
                       "--without-mingle", "-n", name]
            self.processes.append(subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True))
        # Ready when each has logged "<name> ready." (its consumer is connected and
        # listening), read from its own log.
        deadline = time.monotonic() + timeout
        waiting = set(self.names)
        while time.monotonic() < deadline:
            dead = [process.returncode for process in self.processes if process.poll() is not None]
            if dead:
                raise RuntimeError(f"a Celery worker exited at start (codes {dead}); "
                                   f"see {self.log_dir}")
            waiting = {name for name in waiting if not self._ready(name)}
            if not waiting:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{len(waiting)} of {self.count} Celery workers not ready "
                           f"in {timeout:.0f} s; see {self.log_dir}")

    def _log_path(self, name: str) -> Path:
        return self.log_dir / f"{name.split('@')[0]}.log"

    def _ready(self, name: str) -> bool:
        try:
            return f"{name} ready.".encode() in self._log_path(name).read_bytes()
        except OSError:
            return False

    def cpu_seconds(self) -> float:
        """CPU time so far of every process in the workers' groups (pool children too)."""
        groups = {process.pid for process in self.processes}
        ticks = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    group, used = process_group_ticks(stat.read())
            except (OSError, ValueError, IndexError):
                continue
            if group in groups:
                ticks += used
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self, *, grace: float = 30) -> None:
        """SIGTERM (a warm shutdown: the task in hand finishes), SIGKILL after ``grace``."""
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in self.processes:
            # The group, not only the leader: a pool child must not outlive it.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for log in self._logs:
            log.close()
        self.processes, self._logs = [], []


# The run -----------------------------------------------------------------------------------

DATABASE_STATE = """
    SELECT count(*) FILTER (WHERE status = 'sent'),
           count(*) FILTER (WHERE claim_token IS NOT NULL),
           count(*) FILTER (WHERE status IN ('scheduled', 'sent') AND next_action_at IS NULL),
           (SELECT count(*) FROM followups_checkinlink WHERE checkin_id = ANY(%s))
    FROM followups_checkin WHERE id = ANY(%s)
"""


class DeliveryBench:
    def __init__(self, *, database_url: str, due_ids: list[int], log_dir: Path,
                 worker_sets: tuple[int, ...] = WORKER_SETS):
        self.database_url = database_url
        self.due_ids = list(due_ids)
        self.log_dir = log_dir
        self.worker_sets = worker_sets

    def _mark_due(self, ids: list[int]) -> None:
        from bench.database import connect
        from bench.sweep import ALERTS_POSTPONE, MARK_DUE, OTHER_WORK_POSTPONE

        with connect(self.database_url) as connection:
            connection.execute(OTHER_WORK_POSTPONE, [self.due_ids])
            connection.execute(ALERTS_POSTPONE)
            connection.execute("DELETE FROM followups_checkinlink WHERE checkin_id = ANY(%s)",
                               [self.due_ids])
            connection.execute(MARK_DUE, [ids])

    def _database_state(self, ids: list[int]) -> dict[str, int]:
        from bench.database import connect

        with connect(self.database_url) as connection:
            sent, claimed, stuck, links = connection.execute(DATABASE_STATE,
                                                             [ids, ids]).fetchone()
        return {"sent": sent, "claimed": claimed, "stuck": stuck, "links": links}

    def _worker_env(self, *, broker_url: str, sink_port: int) -> dict[str, str]:
        return {
            **os.environ,  # the benchmark's: bench.settings, its database, secret key, DEBUG off
            "CELERY_BROKER_URL": broker_url,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(sink_port),
            "EMAIL_USE_TLS": "false",
        }

    def _deliver(self, *, ids: list[int], sink: SlowSink, app, connection, workers: Workers,
                 timeout: float) -> tuple[float, Tally, int, float]:
        """Mark ``ids`` due, play beat until the sink has each one's invitation."""
        self._mark_due(ids)
        due = set(ids)
        sink.expect(due)
        cpu_before = workers.cpu_seconds()
        started = time.monotonic()
        deadline = started + timeout
        sweeps, next_sweep = 0, started
        while True:
            now = time.monotonic()
            if now >= next_sweep:
                app.send_task("followups.sweep", expires=SWEEP_EXPIRES, retry=False,
                              connection=connection)
                sweeps += 1
                next_sweep += BEAT_INTERVAL
            delivered, last_first = sink.progress()
            if delivered >= len(due) or now >= deadline:
                break
            if any(process.poll() is not None for process in workers.processes):
                raise RuntimeError(f"a Celery worker died during the run; see {self.log_dir}")
            time.sleep(0.05)
        cpu = workers.cpu_seconds() - cpu_before
        counted = tally(sink.received(), due)
        seconds = (last_first - started if last_first and delivered >= len(due) else
                   time.monotonic() - started)
        # The database is written just after the server's 250: let it catch up.
        wait_until = time.monotonic() + 30
        while (time.monotonic() < wait_until
               and self._database_state(ids)["sent"] < counted.delivered):
            time.sleep(0.1)
        return seconds, counted, sweeps, cpu

    def _run(self, count: int, *, broker: BrokerDatabase, sink: SlowSink, app,
             connection) -> Run:
        broker.flush()
        workers = Workers(count=count, log_dir=self.log_dir,
                          env=self._worker_env(broker_url=broker.url, sink_port=sink.port))
        due = len(self.due_ids)
        timeout = 3 * due / ideal_rate(count) + 60
        try:
            workers.start()
            warm = self.due_ids[:min(WARMUP_ROWS, due)]
            _, warmed, _, _ = self._deliver(ids=warm, sink=sink, app=app, connection=connection,
                                            workers=workers,
                                            timeout=3 * len(warm) / ideal_rate(count) + 60)
            if warmed.delivered < len(warm):
                raise RuntimeError(f"{count} worker(s), warm-up: {warmed.delivered} of "
                                   f"{len(warm)} emails arrived in time; see {self.log_dir}")
            seconds, _, sweeps, cpu = self._deliver(ids=self.due_ids, sink=sink, app=app,
                                                    connection=connection, workers=workers,
                                                    timeout=timeout)
            time.sleep(SETTLE_SECONDS)
        finally:
            workers.stop()
        # Counted once the workers are gone: nothing more can arrive.
        counted = tally(sink.received(), set(self.due_ids))
        if counted.delivered < due:
            seconds = timeout
        return Run(workers=count, due=due, seconds=seconds, tally=counted, sweeps_sent=sweeps,
                   cpu_seconds=cpu, database=self._database_state(self.due_ids))

    def measure(self, *, note_extra: str = "") -> list[Result]:
        from celery import Celery

        broker = BrokerDatabase()
        sink = SlowSink()
        app = Celery("bench-delivery", set_as_current=False)
        app.conf.update(task_serializer="json", accept_content=["json"], result_backend=None)
        # Its own connection, by URL: Celery would read CELERY_BROKER_URL from this
        # process's environment (the other benchmarks' memory://) before any setting.
        connection = app.connection_for_write(
            broker.url, connect_timeout=2,
            transport_options={"socket_timeout": 5, "socket_connect_timeout": 2})
        runs: dict[int, Run] = {}
        # A SIGTERM to the benchmark still stops the workers and empties the broker.
        previous = (signal.signal(signal.SIGTERM, _terminated)
                    if threading.current_thread() is threading.main_thread() else None)
        try:
            sink.start()
            for count in self.worker_sets:
                runs[count] = self._run(count, broker=broker, sink=sink, app=app,
                                        connection=connection)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            try:
                connection.release()
                app.close()
            finally:
                sink.stop()
                broker.release()
        return delivery_rows(runs, note_extra=note_extra)


def _terminated(signum, frame):
    raise SystemExit(128 + signum)
