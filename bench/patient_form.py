"""The patient's form POST through a real HTTP server, against a minimal view.

Gunicorn serves ``bench.settings`` (the product's settings and URLs plus the
baseline view of ``bench.urls``) with 2 sync workers. Every request gets a
fresh, valid link: the benchmark marks check-ins sent and stores the SHA-256
of tokens it made, as the sweep would. CSRF stays on: each side's page is
first opened with GETs (untimed; they also warm both workers), and every POST
carries the CSRF cookie and form token they handed out, as one browser
would. Each side then answers FORM_WARMUP_POSTS links untimed (a server in
service has its templates compiled and its statements prepared); only the
POSTs after them are timed. Product and baseline alternate in halves, so a
change in the machine's load mid-run falls on both.

The statements a POST sends to PostgreSQL are read off the wire in the
worker (``bench/statements.py``: BEGIN, COMMIT and the connection's health
check included) for the warm-up POSTs and for as many more product POSTs as
were timed, answered after the timed ones with the same mix of answers:
tracing costs time, so no timed POST is traced. The row is judged on the rate
ratio and on the most statements any counted product POST sent.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench.datagen import answers_draw
from bench.report import Result, Target, ms, percentile
from bench.statements import (
    CONNECTED_HEADER,
    HEADER,
    HEALTH_CHECK,
    TRACE_DIR_VARIABLE,
    TRACE_HEADER,
)

GUNICORN_WORKERS = 2
CLIENT_THREADS = 4
# Untimed POSTs per side before the timed ones, to links of their own: every
# worker has then compiled its templates, imported what a POST imports and
# prepared its statements, as a server in service has.
FORM_WARMUP_POSTS = 4 * CLIENT_THREADS
TARGET_RATIO = 0.2
# The statements the typical POST (the median counted one) may send, BEGIN and
# COMMIT counted. Django's connection health check (one SELECT 1 at the start of
# every request that reuses a connection, the bare view's too) is connection
# upkeep, not the answer's work: it is shown, not counted. A flagged answer, a
# patient with known allergies, a watch answer or a later answer with a rash or
# breakouts costs one statement more each (the escalation, the session's
# ingredients, the day-10 check-in, the earlier answers): shown too.
STATEMENT_CAP = 6
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken"\s+value="([^"]+)"')
OK_STATUSES = (200, 201, 302, 303)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """The project's WSGI app under gunicorn, as production runs it."""

    def __init__(self, *, log_path: Path, workers: int = GUNICORN_WORKERS):
        self.port = _free_port()
        self.log_path = log_path
        self.workers = workers
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        # Started early, its workers boot while the data is generated.
        command = [sys.executable, "-m", "gunicorn", "clinic.wsgi:application",
                   "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
                   "--log-level", "warning"]
        self._log = open(self.log_path, "ab")  # closed in __exit__
        # Each worker traces its database connections here (bench/statements.py).
        trace_dir = self.log_path.parent / "pgtrace"
        trace_dir.mkdir(exist_ok=True)
        self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=self._log,
                                        stderr=subprocess.STDOUT,
                                        env={**os.environ, TRACE_DIR_VARIABLE: str(trace_dir)})
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                status, _, _ = _request(_connection(self.port), "GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz in {timeout:.0f} s; "
                           f"see {self.log_path}")

    def __exit__(self, *exc_info) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


# The client ------------------------------------------------------------------------------

def _connection(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=60)


def _request(connection, method: str, path: str, body: bytes | None = None,
             headers: dict | None = None):
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    content = response.read()
    return response.status, response.getheaders(), content


@dataclass(frozen=True)
class Csrf:
    """What a browser holds after opening a page: the CSRF cookie and the form's token."""

    cookies: str
    token: str | None


class _Client:
    """A keep-alive connection per client thread (gunicorn's sync workers close it anyway)."""

    def __init__(self, port: int):
        self.port = port
        self.local = threading.local()

    def connection(self) -> http.client.HTTPConnection:
        if getattr(self.local, "connection", None) is None:
            self.local.connection = _connection(self.port)
        return self.local.connection

    def send(self, method: str, path: str, body: bytes | None = None,
             headers: dict | None = None):
        try:
            return _request(self.connection(), method, path, body, headers)
        except (http.client.HTTPException, OSError):
            self.local.connection = None  # reconnect once: the server closed it first
            return _request(self.connection(), method, path, body, headers)

    def open(self, path: str) -> tuple[int, Csrf]:
        status, headers, content = self.send("GET", path)
        cookies = "; ".join(value.split(";", 1)[0] for name, value in headers
                            if name.lower() == "set-cookie")
        match = CSRF_FIELD.search(content)
        return status, Csrf(cookies=cookies, token=match.group(1).decode() if match else None)

    def submit(self, csrf: Csrf, path: str, answers: dict, trace: bool = False) -> Outcome:
        body = urlencode({**answers, "csrfmiddlewaretoken": csrf.token or ""}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": csrf.cookies}
        if trace:
            headers[TRACE_HEADER] = "1"
        start = time.perf_counter()
        status, response_headers, _ = self.send("POST", path, body, headers)
        latency = time.perf_counter() - start
        named = {name.lower(): value for name, value in response_headers}
        listed = named.get(HEADER.lower())
        return Outcome(status=status, latency=latency,
                       statements=None if listed is None else tuple(filter(None,
                                                                           listed.split(","))),
                       connections_opened=int(named.get(CONNECTED_HEADER.lower(), 0)))


@dataclass(frozen=True)
class Outcome:
    """One POST: its status, latency, and the statements it sent (None: not reported)."""

    status: int
    latency: float
    statements: tuple[str, ...] | None
    connections_opened: int = 0


@dataclass
class Side:
    """Everything one side (product or baseline) measured, POST by POST in order."""

    seconds: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, seconds: float, outcomes: list[Outcome]) -> None:
        self.seconds += seconds
        self.outcomes += outcomes

    @property
    def statuses(self) -> dict[int, int]:
        return dict(Counter(outcome.status for outcome in self.outcomes))

    @property
    def ok(self) -> int:
        return sum(outcome.status in OK_STATUSES for outcome in self.outcomes)

    @property
    def rate(self) -> float:
        return len(self.outcomes) / self.seconds if self.seconds else 0.0

    @property
    def unreported(self) -> int:
        return sum(outcome.statements is None for outcome in self.outcomes)

    @property
    def statement_counts(self) -> Counter:
        return Counter(len(outcome.statements) for outcome in self.outcomes
                       if outcome.statements is not None)

    def describe(self) -> str:
        latencies = [outcome.latency for outcome in self.outcomes] or [0.0]
        return (f"{self.rate:,.0f} req/s, p50 {ms(percentile(latencies, 0.5))}, "
                f"p95 {ms(percentile(latencies, 0.95))}")


def _form_answers(rng: random.Random, day: int) -> dict[str, str]:
    answers = answers_draw(rng, day)
    return {name: ("yes" if value else "no") if isinstance(value, bool) else value
            for name, value in answers.items()}


def _posts(client: _Client, csrf: Csrf, paths: list[str], answers: list[dict], *,
           trace: bool = False) -> tuple[float, list[Outcome]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        outcomes = list(pool.map(client.submit, [csrf] * len(paths), paths, answers,
                                 [trace] * len(paths)))
    return time.perf_counter() - start, outcomes


def _page_open(client: _Client, paths: list[str]) -> tuple[int, Csrf]:
    """Open a side's page a few times at once (warming both workers); keep the first."""
    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        opened = list(pool.map(client.open, paths[:2 * CLIENT_THREADS]))
    return opened[0]


# The benchmark ---------------------------------------------------------------------------

def links_issue(connection, checkin_ids: list[int]) -> list[str]:
    """Mark the check-ins sent and give each a fresh link; return the raw tokens."""
    from followups.link.tokens import token_new

    pairs = [token_new() for _ in checkin_ids]
    connection.execute(
        """
        UPDATE followups_checkin SET status = 'sent', sent_at = now(),
            expires_at = now() + interval '72 hours', next_action_at = now() + interval '24 hours'
        WHERE id = ANY(%s)
        """,
        [checkin_ids],
    )
    connection.execute(
        """
        INSERT INTO followups_checkinlink (checkin_id, token_hash, created_at, expires_at)
        SELECT checkin_id, token_hash, now(), now() + interval '72 hours'
        FROM unnest(%s::bigint[], %s::text[]) AS issued(checkin_id, token_hash)
        """,
        [checkin_ids, [hashed for _, hashed in pairs]],
    )
    return [token for token, _ in pairs]


def counts_text(counts: Counter) -> str:
    """``7 ×930, 8 ×70``: how many POSTs sent each number of statements."""
    return ", ".join(f"{count} ×{posts:,}" for count, posts in sorted(counts.items()))


# What the benchmark's answers were, for the statement counts by kind of answer.
ANSWER_KINDS = """
    SELECT c.id, c.day,
           EXISTS (SELECT 1 FROM followups_escalation e WHERE e.checkin_id = c.id),
           coalesce(jsonb_array_length(p.known_allergies), 0) > 0
    FROM followups_checkin c
    JOIN patients_treatmentsession s ON s.id = c.session_id
    JOIN patients_patient p ON p.id = s.patient_id
    WHERE c.id = ANY(%s)
"""


def statements_by_answer(outcomes: list[Outcome], kinds: dict[int, tuple]) -> str:
    """The statement counts of the POSTs grouped by day, flagged or not, allergies or not.

    ``outcomes`` and ``kinds`` are keyed alike: ``kinds`` maps a check-in id
    to (day, flagged, allergies), ``outcomes`` are (check-in id, Outcome).
    """
    groups: dict[tuple, list[tuple[str, ...]]] = {}
    for checkin_id, outcome in outcomes:
        if outcome.statements is not None:
            groups.setdefault(kinds[checkin_id], []).append(outcome.statements)
    parts = []
    for (day, flagged, allergies), sequences in sorted(groups.items()):
        common, _ = Counter(sequences).most_common(1)[0]
        parts.append(
            f"day {day}, {'flagged' if flagged else 'not flagged'}, "
            f"{'known allergies' if allergies else 'no allergies'}: "
            f"{len(sequences):,} POST{'' if len(sequences) == 1 else 's'}, "
            f"{counts_text(Counter(len(sequence) for sequence in sequences))} "
            f"(mostly {' '.join(common)})"
        )
    return "; ".join(parts)


def patient_form_bench(*, database_url: str, checkin_ids: list[int], counted: int,
                       server: Gunicorn, seed: int = 11) -> Result:
    """``checkin_ids`` answer through the product's form and the baseline.

    The first 2 × FORM_WARMUP_POSTS are the warm-up, half on each side; the
    last ``counted`` answer the product's form untimed, with their statements
    counted; the rest are timed, half on each side.
    """
    from bench.database import connect
    from bench.urls import BASELINE_PREFIX

    with connect(database_url) as connection:
        tokens = links_issue(connection, checkin_ids)
        days = dict(connection.execute("SELECT id, day FROM followups_checkin WHERE id = ANY(%s)",
                                       [checkin_ids]).fetchall())
    rng = random.Random(seed)
    warm = 2 * FORM_WARMUP_POSTS
    warm_ids, warm_tokens = checkin_ids[:warm], tokens[:warm]
    rest_ids, rest_tokens = checkin_ids[warm:], tokens[warm:]
    half = (len(rest_ids) - counted) // 2
    product_ids, baseline_ids = rest_ids[:half], rest_ids[half:2 * half]
    counted_ids = rest_ids[2 * half:2 * half + counted]
    product_paths = [f"/c/{token}/" for token in rest_tokens[:half]]
    baseline_paths = [f"/{BASELINE_PREFIX}{token}/" for token in rest_tokens[half:2 * half]]
    counted_paths = [f"/c/{token}/" for token in rest_tokens[2 * half:2 * half + counted]]
    product_answers = [_form_answers(rng, days[i]) for i in product_ids]
    baseline_answers = [_form_answers(rng, days[i]) for i in baseline_ids]
    counted_answers = [_form_answers(rng, days[i]) for i in counted_ids]
    warm_paths = {
        "product": [f"/c/{token}/" for token in warm_tokens[:FORM_WARMUP_POSTS]],
        "baseline": [f"/{BASELINE_PREFIX}{token}/" for token in warm_tokens[FORM_WARMUP_POSTS:]],
    }
    warm_answers = [_form_answers(rng, days[i]) for i in warm_ids]

    server.wait_ready()
    client = _Client(server.port)
    status, product_csrf = _page_open(client, product_paths)
    if status != 200 or not product_csrf.token:
        raise RuntimeError(f"GET of a fresh link answered {status}"
                           f"{'' if product_csrf.token else ' without a CSRF token in a form'}")
    status, baseline_csrf = _page_open(client, baseline_paths)
    if status != 200 or not baseline_csrf.token:
        raise RuntimeError(f"the baseline page answered {status} without a CSRF token")
    warmed: dict[str, list[Outcome]] = {}
    for side, csrf, answers in (("product", product_csrf, warm_answers[:FORM_WARMUP_POSTS]),
                                ("baseline", baseline_csrf, warm_answers[FORM_WARMUP_POSTS:])):
        warmed[side] = _posts(client, csrf, warm_paths[side], answers, trace=True)[1]
        if any(outcome.status not in OK_STATUSES for outcome in warmed[side]):
            raise RuntimeError(f"a warm-up POST of the {side} answered "
                               f"{[outcome.status for outcome in warmed[side]]}")
        if any(outcome.statements is None for outcome in warmed[side]):
            raise RuntimeError(f"a warm-up POST of the {side} did not report its statements "
                               f"(no {HEADER} header: is bench.statements in the middleware?)")
    product, baseline = Side(), Side()
    quarter = half // 2
    for chunk in (slice(0, quarter), slice(quarter, half)):
        baseline.add(*_posts(client, baseline_csrf, baseline_paths[chunk],
                             baseline_answers[chunk]))
        product.add(*_posts(client, product_csrf, product_paths[chunk],
                            product_answers[chunk]))
    counted_side = Side()
    counted_side.add(*_posts(client, product_csrf, counted_paths, counted_answers, trace=True))

    answered = product_ids + counted_ids
    with connect(database_url) as connection:
        stored = connection.execute(
            "SELECT count(*) FROM followups_checkinresponse WHERE checkin_id = ANY(%s)",
            [product_ids],
        ).fetchone()[0]
        answer_kinds = {row[0]: tuple(row[1:])
                        for row in connection.execute(ANSWER_KINDS, [answered]).fetchall()}
    flagged = sum(answer_kinds[i][1] for i in product_ids)
    problems = []
    if product.ok != half or stored != half:
        problems.append(f"product: {product.ok} of {half} POSTs succeeded "
                        f"(statuses {product.statuses}), {stored} answers stored")
    if baseline.ok != half:
        problems.append(f"baseline: {baseline.ok} of {half} POSTs succeeded "
                        f"(statuses {baseline.statuses})")
    if counted_side.ok != counted or counted_side.unreported:
        problems.append(f"counted: {counted_side.ok} of {counted} POSTs succeeded (statuses "
                        f"{counted_side.statuses}), {counted_side.unreported} did not report "
                        "their statements")
    counts = counted_side.statement_counts
    baseline_counts = Side(outcomes=warmed["baseline"]).statement_counts
    most = max(counts) if counts else None
    without_check = Counter(
        sum(kind != HEALTH_CHECK for kind in outcome.statements)
        for outcome in counted_side.outcomes if outcome.statements is not None)
    reconnected = sum(outcome.connections_opened > 0 for outcome in counted_side.outcomes)
    by_answer = statements_by_answer(list(zip(counted_ids, counted_side.outcomes, strict=True)),
                                     answer_kinds)
    return Result(
        operation="Patient form POST /c/<token>/ over HTTP (gunicorn, 2 workers)",
        figure=product.describe() + (f", {_mean(counts):.2f} queries/POST (max {most})"
                                     if counts else ""),
        baseline=f"{baseline.describe()}, {_mean(baseline_counts):.2f} queries/POST "
                 "(1 indexed read + 1 insert)",
        ratio=product.rate / baseline.rate if baseline.rate else None,
        target=Target(">=", TARGET_RATIO),
        checks=[(f"≤ {STATEMENT_CAP} queries for the typical POST",
                 bool(without_check) and _median(without_check) <= STATEMENT_CAP)],
        status="error" if problems else None,
        note="; ".join(problems) or (
            f"{half:,} timed POSTs each side from {CLIENT_THREADS} client threads, every one "
            "to a fresh link, with the CSRF cookie and token of an earlier (untimed) GET, "
            f"after {FORM_WARMUP_POSTS} untimed warm-up POSTs each side; "
            f"{stored:,} answers stored, {flagged:,} of them flagged (an escalation raised). "
            "The baseline is bench.urls.baseline_checkin in the same gunicorn, settings and "
            "middleware. Queries are the statements a POST sent to PostgreSQL, read off the "
            "wire by libpq's trace in the worker (bench/statements.py), BEGIN, COMMIT and "
            "Django's connection health check (SELECT 1, CONN_HEALTH_CHECKS) counted, for "
            f"{counted:,} more product POSTs answered untimed after the timed ones (tracing "
            "costs time) and for the baseline's warm-up POSTs; the cap holds if the median "
            f"counted product POST, health check aside, sent at most {STATEMENT_CAP}. "
            "Per POST, product: "
            f"{counts_text(counts)} (without the health check: "
            f"{counts_text(without_check)}); baseline: {counts_text(baseline_counts)}. "
            f"By answer (product): {by_answer}."
            + (f" {reconnected} counted POST(s) opened a database connection (what Django "
               "sends while opening one is not in their count)." if reconnected else "")
        ),
    )


def _median(counts: Counter) -> float:
    ordered = sorted(counts.elements())
    middle = len(ordered) // 2
    return (ordered[middle] if len(ordered) % 2
            else (ordered[middle - 1] + ordered[middle]) / 2)


def _mean(counts: Counter) -> float:
    posts = sum(counts.values())
    return sum(count * n for count, n in counts.items()) / posts if posts else 0.0
