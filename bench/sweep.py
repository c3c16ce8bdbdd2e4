"""The due sweep: 4 concurrent ``followups_sweep`` against 4 raw loops doing the same job.

The same rows are marked due for each run. Each worker is its own process
(spawned, Django set up once, as a Celery worker would be), so the four
sweeps really run in parallel instead of taking turns at the GIL.

The baseline (``_raw_email_loop``) sends the same invitations by the most
direct means: per batch, one ``SELECT … FOR UPDATE OF c SKIP LOCKED`` that
also JOINs what the email needs, a fresh token per row whose SHA-256 goes in
one raw INSERT into followups_checkinlink, the invitation built by the
product's own ``checkin_email`` (``followups.delivery.channels.email.messages``)
from the claimed row and handed to the configured backend (Django's in-memory
one here) in one ``send_messages``, one raw UPDATE marking the batch sent and
one raw INSERT of its delivery records. The older
baseline, which only claimed rows and marked them sent (no link, no email),
is still timed and shown as an informational row.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import os
import queue
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

from bench.report import Result, Target, informational, per_second

WORKERS = 4
RAW_BATCH = 100
RAW_REPEATS = 3
TARGET_RATE_RATIO = 0.3
TARGET_GROWTH_RATIO = 1.5

RAW_CLAIM = """
    SELECT id FROM followups_checkin WHERE next_action_at <= now()
    ORDER BY next_action_at LIMIT %s FOR UPDATE SKIP LOCKED
"""
RAW_MARK_SENT = """
    UPDATE followups_checkin SET status = 'sent', sent_at = now(), next_action_at = NULL
    WHERE id = ANY(%s)
"""
# The baseline: what the invitation email needs, fetched by the claim itself.
# The patient's columns are those of PATIENT_EMAIL_FIELDS the model has.
RAW_CLAIM_FOR_EMAIL = """
    SELECT c.id, c.due_at, c.send_generation, {patient_columns},
           k.name AS clinic_name, k.phone AS clinic_phone, k.email AS clinic_email,
           k.timezone AS clinic_timezone
    FROM followups_checkin c
    JOIN patients_treatmentsession s ON s.id = c.session_id
    JOIN patients_patient p ON p.id = s.patient_id
    JOIN patients_clinic k ON k.id = p.clinic_id
    WHERE c.next_action_at <= now()
    ORDER BY c.next_action_at LIMIT %s
    FOR UPDATE OF c SKIP LOCKED
"""
# What the email channel's checkin_email reads of a patient
# (language: once patients have one).
PATIENT_EMAIL_FIELDS = ("first_name", "email", "language")


def patient_email_fields() -> list[str]:
    from patients.models import Patient

    columns = {field.name for field in Patient._meta.concrete_fields}
    return [name for name in PATIENT_EMAIL_FIELDS if name in columns]


def raw_claim_for_email() -> str:
    return RAW_CLAIM_FOR_EMAIL.format(
        patient_columns=", ".join(f"p.{name}" for name in patient_email_fields()))


RAW_LINKS_INSERT = """
    INSERT INTO followups_checkinlink (checkin_id, token_hash, created_at, expires_at)
    SELECT checkin_id, token_hash, %s, %s
    FROM unnest(%s::bigint[], %s::text[]) AS issued(checkin_id, token_hash)
"""
# The same columns the product's sweep writes when an invitation has gone.
RAW_MARK_SENT_EMAILED = """
    UPDATE followups_checkin
    SET status = 'sent', sent_at = %s, expires_at = %s, next_action_at = %s,
        attempts = 0, last_error = '', claim_token = NULL
    WHERE id = ANY(%s)
"""
# And the delivery record the product's sweep writes beside each sent check-in.
RAW_DELIVERIES_INSERT = """
    INSERT INTO followups_delivery
        (checkin_id, channel, kind, send_generation, status, at, error, provider_message_id)
    SELECT id, 'email', 'invitation', send_generation, 'sent', %s, '', ''
    FROM followups_checkin WHERE id = ANY(%s)
"""
# Nothing but the marked rows may be due when a run starts: the generated data
# keeps its next actions hours away, but the other benchmarks leave work behind
# (an urgent answer to the form is due for an alert at once).
OTHER_WORK_POSTPONE = """
    UPDATE followups_checkin SET next_action_at = now() + interval '3 hours'
    WHERE next_action_at <= now() + interval '10 minutes' AND NOT (id = ANY(%s))
"""
ALERTS_POSTPONE = """
    UPDATE followups_escalation SET next_action_at = now() + interval '3 hours'
    WHERE next_action_at <= now() + interval '10 minutes'
"""
MARK_DUE = """
    UPDATE followups_checkin
    SET status = 'scheduled', due_at = now() - interval '1 minute',
        next_action_at = now() - interval '1 minute', sent_at = NULL, expires_at = NULL,
        reminder_sent_at = NULL, claim_token = NULL, attempts = 0, last_error = ''
    WHERE id = ANY(%s)
"""


# In each worker process --------------------------------------------------------------------

def _raw_loop(connection) -> int:
    rows = 0
    while True:
        ids = [row[0] for row in connection.execute(RAW_CLAIM, [RAW_BATCH]).fetchall()]
        if not ids:
            connection.commit()
            return rows
        connection.execute(RAW_MARK_SENT, [ids])
        connection.commit()
        rows += len(ids)


def raw_invitation(row: dict, token: str):
    """The invitation email for one row of ``RAW_CLAIM_FOR_EMAIL`` (a dict).

    Built by the product's ``checkin_email(…, reminder=False)``
    (``followups.delivery.channels.email.messages``) itself, so both sides send the
    same message; the baseline only hands it the claimed row's values as plain
    objects with the attributes the builder reads, instead of model instances
    (tests/test_bench_smoke.py checks the message equals the one built from the
    product's models).
    """
    from followups.delivery.channels.email.messages import checkin_email

    clinic = SimpleNamespace(name=row["clinic_name"], phone=row["clinic_phone"],
                             email=row["clinic_email"], timezone=row["clinic_timezone"])
    patient = SimpleNamespace(clinic=clinic, **{name: row[name] for name in PATIENT_EMAIL_FIELDS
                                                if name in row})
    # Not sent yet (sent_at None): the builder counts the link's expiry from the due time.
    checkin = SimpleNamespace(pk=row["id"], send_generation=row["send_generation"],
                              sent_at=None, due_at=row["due_at"],
                              session=SimpleNamespace(patient=patient))
    return checkin_email(checkin, token=token, reminder=False)


def _raw_email_loop(connection) -> int:
    """The baseline: the product's job (a link and an invitation email per due row), directly.

    One transaction per batch: the claim's row locks are held until the batch
    is marked sent.
    """
    from django.conf import settings
    from django.core.mail import get_connection
    from psycopg.rows import dict_row

    batch_size = settings.SWEEP_BATCH_SIZE
    mailer = get_connection()
    claim = raw_claim_for_email()
    rows = 0
    while True:
        with connection.cursor(row_factory=dict_row) as cursor:
            batch = cursor.execute(claim, [batch_size]).fetchall()
        if not batch:
            connection.commit()
            return rows
        now = datetime.now(UTC)
        expires_at = now + settings.CHECKIN_LINK_TTL
        ids = [row["id"] for row in batch]
        tokens = [secrets.token_urlsafe(32) for _ in batch]
        connection.execute(RAW_LINKS_INSERT, [
            now, expires_at, ids,
            [hashlib.sha256(token.encode()).hexdigest() for token in tokens],
        ])
        messages = [raw_invitation(row, token) for row, token in zip(batch, tokens, strict=True)]
        if mailer.send_messages(messages) != len(messages):
            raise RuntimeError("the email backend did not take every message")
        connection.execute(RAW_MARK_SENT_EMAILED,
                           [now, expires_at, now + settings.CHECKIN_REMINDER_AFTER, ids])
        connection.execute(RAW_DELIVERIES_INSERT, [now, ids])
        connection.commit()
        rows += len(ids)


def _templates_warm() -> None:
    """Load the email templates once, as a long-running worker has."""
    from django.template.loader import get_template

    for name in ("checkin.txt", "checkin.html", "alert.txt", "alert.html"):
        get_template(f"followups/email/{name}")


def _worker_main(database_url: str, barrier, tasks, results) -> None:
    from bench.database import connect, django_start

    django_start(migrate=False)
    from django.core import mail
    from django.db import connection

    from followups.delivery.sweep import followups_sweep

    connection.ensure_connection()
    _templates_warm()
    raw = connect(database_url, autocommit=False)
    results.put(("ready", os.getpid()))
    while (task := tasks.get()) is not None:
        try:
            barrier.wait(timeout=120)
            start = time.monotonic()
            if task == "raw":
                rows, details = _raw_loop(raw), {}
            elif task == "raw_email":
                rows, details = _raw_email_loop(raw), {}
            else:
                report = followups_sweep()
                rows, details = report.invitations_sent, report.as_dict()
            details["emails"] = len(getattr(mail, "outbox", []))
            mail.outbox = []
            results.put(("done", start, time.monotonic(), rows, details))
        except Exception as error:  # reported, and the run marks the row as an error
            raw.rollback()
            results.put(("error", f"{type(error).__name__}: {error}"))


# In the benchmark's process ----------------------------------------------------------------

@dataclass
class Run:
    seconds: float
    rows: int
    details: dict

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


class SweepWorkers:
    """Four worker processes, started once and given one task each per run."""

    def __init__(self, database_url: str, count: int = WORKERS):
        context = multiprocessing.get_context("spawn")
        self.count = count
        self.barrier = context.Barrier(count)
        self.tasks = context.Queue()
        self.results = context.Queue()
        self.processes = [
            context.Process(target=_worker_main, name=f"bench-sweep-{n}", daemon=True,
                            args=(database_url, self.barrier, self.tasks, self.results))
            for n in range(count)
        ]

    def __enter__(self) -> SweepWorkers:
        # Started early, they set Django up while the data is generated.
        for process in self.processes:
            process.start()
        self.ready = False
        return self

    def _wait_ready(self) -> None:
        for _ in self.processes:
            message = self._receive(timeout=180)
            if message[0] != "ready":
                raise RuntimeError(f"a sweep worker failed to start: {message}")
        self.ready = True

    def __exit__(self, *exc_info) -> None:
        for _ in self.processes:
            self.tasks.put(None)
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()

    def _receive(self, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return self.results.get(timeout=1)
            except queue.Empty:
                dead = [process.exitcode for process in self.processes if not process.is_alive()]
                if dead:
                    raise RuntimeError(f"a sweep worker died (exit codes {dead})") from None
        raise RuntimeError(f"no answer from the sweep workers in {timeout:.0f} s")

    def run(self, task: str) -> Run:
        """Every worker starts ``task`` at the same instant; the run lasts until the last ends."""
        if not self.ready:
            self._wait_ready()
        for _ in self.processes:
            self.tasks.put(task)
        messages = [self._receive(timeout=600) for _ in self.processes]
        errors = [message[1] for message in messages if message[0] == "error"]
        if errors:
            raise RuntimeError("; ".join(errors))
        details: dict = {}
        for message in messages:
            for key, value in message[4].items():
                details[key] = details.get(key, 0) + value
        return Run(seconds=max(m[2] for m in messages) - min(m[1] for m in messages),
                   rows=sum(m[3] for m in messages), details=details)


def checkins_reserve(connection, count: int, *, exclude: list[int]) -> list[int]:
    """Scheduled check-ins of live sessions, far from due, that no other benchmark uses."""
    rows = connection.execute(
        """
        SELECT c.id FROM followups_checkin c
        JOIN patients_treatmentsession s ON s.id = c.session_id
        WHERE c.status = 'scheduled' AND c.next_action_at > now() + interval '1 hour'
          AND s.cancelled_at IS NULL AND NOT (c.id = ANY(%s))
        ORDER BY md5(c.id::text) LIMIT %s
        """,
        [exclude, count],
    ).fetchall()
    if len(rows) < count:
        raise RuntimeError(f"only {len(rows)} scheduled check-ins free, {count} needed")
    return [row[0] for row in rows]


class SweepBench:
    """The sweep measured twice: on the generated table, then on one 10 times bigger."""

    def __init__(self, *, workers: SweepWorkers, database_url: str, due_ids: list[int],
                 repeats: int = 2):
        self.workers = workers
        self.database_url = database_url
        self.due_ids = due_ids
        self.repeats = repeats
        self.small: Run | None = None
        self.small_runs: list[Run] = []
        self.small_table_rows = 0

    def _mark_due(self, ids: list[int] | None = None) -> None:
        from bench.database import connect

        ids = self.due_ids if ids is None else ids
        with connect(self.database_url) as connection:
            connection.execute(OTHER_WORK_POSTPONE, [ids])
            connection.execute(ALERTS_POSTPONE)
            connection.execute("DELETE FROM followups_checkinlink WHERE checkin_id = ANY(%s)",
                               [ids])
            connection.execute("DELETE FROM followups_delivery WHERE checkin_id = ANY(%s)",
                               [ids])
            connection.execute(MARK_DUE, [ids])

    def _queries_per_row(self, sample: int = 100) -> float:
        """Some of the rows swept in this process, with the queries counted."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from followups.delivery.sweep import followups_sweep

        ids = self.due_ids[:sample]
        self._mark_due(ids)
        with CaptureQueriesContext(connection) as captured:
            report = followups_sweep()
        return len(captured) / max(report.invitations_sent, 1)

    def _sent(self) -> tuple[int, int, int]:
        from bench.database import connect

        with connect(self.database_url) as connection:
            return connection.execute(
                """
                SELECT count(*) FILTER (WHERE status = 'sent'),
                       (SELECT count(*) FROM followups_checkinlink WHERE checkin_id = ANY(%s)),
                       (SELECT count(*) FROM followups_delivery WHERE checkin_id = ANY(%s))
                FROM followups_checkin WHERE id = ANY(%s)
                """,
                [self.due_ids, self.due_ids, self.due_ids],
            ).fetchone()

    def _run(self, task: str) -> tuple[Run, list[str]]:
        """Mark the rows due, run ``task`` in every worker, check the job was done."""
        self._mark_due()
        run = self.workers.run(task)
        due = len(self.due_ids)
        sent, links, deliveries = self._sent()
        emails = run.details.get("emails", 0)
        name = "the sweeps" if task == "sweep" else "the raw loops"
        problems = []
        if (run.rows != due or sent != due or links != due or emails != due
                or deliveries != due):
            problems.append(f"expected {due} invitations; {name} reported {run.rows} and "
                            f"{emails} emails, {sent} rows are sent, {links} links and "
                            f"{deliveries} delivery records exist")
        others = {key: value for key, value in run.details.items()
                  if value and key not in ("invitations_sent", "emails")}
        if others:
            problems.append(f"{name} also did {others}")
        return run, problems

    def _sweep(self, repeats: int) -> tuple[list[Run], list[str]]:
        runs, problems = [], []
        for _ in range(repeats):
            run, run_problems = self._run("sweep")
            runs.append(run)
            problems += run_problems
        return runs, problems

    def _claim_only(self) -> tuple[Run, list[str]]:
        """The old baseline: claim and mark sent, no link, no email (median of a few)."""
        due = len(self.due_ids)
        raws = []
        for _ in range(RAW_REPEATS):
            self._mark_due()
            raws.append(self.workers.run("raw"))
        problems = [f"the claim-only loops marked {run.rows} of {due}" for run in raws
                    if run.rows != due]
        return sorted(raws, key=lambda run: run.seconds)[len(raws) // 2], problems

    def measure_small(self, *, table_rows: int) -> list[Result]:
        due = len(self.due_ids)
        claim_only, claim_problems = self._claim_only()
        # The first run of each side pays for lazy imports, caches and cold
        # pages: run, not counted. Then the two sides alternate, so a change
        # in the machine's load falls on both, and each keeps its fastest run,
        # since the machine's noise only ever adds time.
        problems: list[str] = []
        for task in ("raw_email", "sweep"):
            problems += self._run(task)[1]
        raws, runs = [], []
        for _ in range(self.repeats):
            for task, kept in (("raw_email", raws), ("sweep", runs)):
                run, run_problems = self._run(task)
                kept.append(run)
                problems += run_problems
        self.small_runs = runs
        sweep = self.small = min(runs, key=lambda run: run.seconds)
        raw = min(raws, key=lambda run: run.seconds)
        self.small_table_rows = table_rows
        queries = self._queries_per_row()
        batch = self._batch_size()
        judged = Result(
            operation=f"Due sweep, {WORKERS} concurrent (followups_sweep)",
            figure=f"{per_second(sweep.rows, sweep.seconds, 'rows')} "
                   f"({sweep.rows:,} sent in {sweep.seconds:.2f} s, "
                   f"{sweep.details.get('emails', 0):,} emails built), "
                   f"{queries:.1f} queries/row",
            baseline=f"{per_second(raw.rows, raw.seconds, 'rows')} raw SKIP LOCKED loop "
                     f"sending the same emails ({raw.rows:,} sent in {raw.seconds:.2f} s, "
                     f"{raw.details.get('emails', 0):,} emails built)",
            ratio=sweep.rate / raw.rate,
            target=Target(">=", TARGET_RATE_RATIO),
            status="error" if problems else None,
            note="; ".join(problems) or (
                f"{due:,} check-ins due among {table_rows:,}; {WORKERS} spawned processes each "
                f"run one followups_sweep(), sharing {math.ceil(due / batch)} batches of "
                f"{batch}, vs {WORKERS} processes each looping, one transaction per batch "
                f"of {batch}: SELECT … JOIN session, patient, clinic … FOR UPDATE OF c SKIP "
                "LOCKED; a secrets.token_urlsafe(32) per row and one INSERT of their SHA-256 "
                "into followups_checkinlink; the same email, built by the product's "
                "followups.delivery.channels.email.messages.checkin_email from the claimed "
                "row, to the same backend in one send_messages; one UPDATE marking the batch "
                "sent and one INSERT of its delivery records. Both verified: every "
                "row sent, one link and one email each. Alternating, fastest of "
                f"{_seconds(runs)} (sweep) and {_seconds(raws)} (raw), after an untimed "
                "warm-up run of each. Wall time from a shared barrier to the last worker's "
                "finish."
            ),
        )
        reference = informational(
            operation="↳ for reference: raw claim loop without email",
            figure=f"{per_second(claim_only.rows, claim_only.seconds, 'rows')} "
                   f"({claim_only.seconds:.3f} s, median of {RAW_REPEATS})",
            ratio=sweep.rate / claim_only.rate,
            note="; ".join(claim_problems) or (
                f"The old baseline, not judged: {WORKERS} processes each looping SELECT id … "
                f"LIMIT {RAW_BATCH} FOR UPDATE SKIP LOCKED + UPDATE status='sent', with no "
                "link and no email, so not the sweep's job. The ratio is the sweep's rate "
                "over it: the share of a bare claim-and-mark ceiling the sweep reaches."
            ),
        )
        return [judged, reference]

    def measure_big(self, *, table_rows: int) -> Result:
        if self.small is None:
            raise RuntimeError("measure the generated table first")
        runs, problems = self._sweep(self.repeats)
        big, small = min(runs, key=lambda run: run.seconds), self.small
        return Result(
            operation="Due sweep on a 10× check-in table, same number due",
            figure=f"{big.seconds:.2f} s ({big.rows:,} due among {table_rows:,})",
            baseline=f"{small.seconds:.2f} s ({small.rows:,} due among "
                     f"{self.small_table_rows:,})",
            ratio=big.seconds / small.seconds,
            target=Target("<=", TARGET_GROWTH_RATIO),
            status="error" if problems else None,
            note="; ".join(problems) or (
                "The same rows marked due again after adding 9 copies of every session and "
                "check-in (one in five scheduled a year or more ahead, the rest answered "
                "history), with VACUUM ANALYZE as autovacuum would; fastest of "
                f"{_seconds(runs)}. The sweep must cost O(due), not O(table)."
            ),
        )

    @staticmethod
    def _batch_size() -> int:
        from django.conf import settings

        return settings.SWEEP_BATCH_SIZE


def _seconds(runs: list[Run]) -> str:
    return ", ".join(f"{run.seconds:.2f} s" for run in runs)
