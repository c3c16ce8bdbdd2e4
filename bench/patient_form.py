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
"""

from __future__ import annotations

import http.client
import random
import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bench.datagen import answers_draw
from bench.report import PENDING, Result, Target, ms, percentile, queries_summary

GUNICORN_WORKERS = 2
CLIENT_THREADS = 4
# Untimed POSTs per side before the timed ones, to links of their own: every
# worker has then compiled its templates, imported what a POST imports and
# prepared its statements, as a server in service has.
FORM_WARMUP_POSTS = 4 * CLIENT_THREADS
TARGET_RATIO = 0.5
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
        self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=self._log,
                                        stderr=subprocess.STDOUT)
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

    def submit(self, csrf: Csrf, path: str, answers: dict) -> tuple[int, float]:
        body = urlencode({**answers, "csrfmiddlewaretoken": csrf.token or ""}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": csrf.cookies}
        start = time.perf_counter()
        status, _, _ = self.send("POST", path, body, headers)
        return status, time.perf_counter() - start


@dataclass
class Side:
    """Everything one side (product or baseline) measured."""

    seconds: float = 0.0
    latencies: list[float] | None = None
    statuses: dict[int, int] | None = None

    def add(self, seconds: float, outcomes: list[tuple[int, float]]) -> None:
        self.seconds += seconds
        self.latencies = (self.latencies or []) + [latency for _, latency in outcomes]
        self.statuses = self.statuses or {}
        for status, _ in outcomes:
            self.statuses[status] = self.statuses.get(status, 0) + 1

    @property
    def ok(self) -> int:
        return sum(count for status, count in (self.statuses or {}).items()
                   if status in OK_STATUSES)

    @property
    def rate(self) -> float:
        return len(self.latencies or []) / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        latencies = self.latencies or [0.0]
        return (f"{self.rate:,.0f} req/s, p50 {ms(percentile(latencies, 0.5))}, "
                f"p95 {ms(percentile(latencies, 0.95))}")


def _form_answers(rng: random.Random, day: int) -> dict[str, str]:
    answers = answers_draw(rng, day)
    return {name: ("yes" if value else "no") if isinstance(value, bool) else value
            for name, value in answers.items()}


def _posts(client: _Client, csrf: Csrf, paths: list[str],
           answers: list[dict]) -> tuple[float, list]:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        outcomes = list(pool.map(client.submit, [csrf] * len(paths), paths, answers))
    return time.perf_counter() - start, outcomes


def _page_open(client: _Client, paths: list[str]) -> tuple[int, Csrf]:
    """Open a side's page a few times at once (warming both workers); keep the first."""
    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        opened = list(pool.map(client.open, paths[:2 * CLIENT_THREADS]))
    return opened[0]


# The benchmark ---------------------------------------------------------------------------

def links_issue(connection, checkin_ids: list[int]) -> list[str]:
    """Mark the check-ins sent and give each a fresh link; return the raw tokens."""
    from followups.tokens import token_new

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


def _queries_of_one_post(path: str, answers: dict) -> tuple[int, str]:
    """One POST in-process, with its queries counted (the server cannot count them)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    with CaptureQueriesContext(connection) as captured:
        response = client.post(path, answers)
    if response.status_code not in OK_STATUSES:
        raise RuntimeError(f"an in-process POST of the form answered {response.status_code}")
    return len(captured), queries_summary(captured.captured_queries)


def patient_form_bench(*, database_url: str, checkin_ids: list[int], server: Gunicorn,
                       seed: int = 11) -> Result:
    """``checkin_ids`` answer through the product's form and the baseline, in equal parts.

    The first 2 × FORM_WARMUP_POSTS are the warm-up, half on each side; one
    more (the last, if the rest is odd) is answered in-process to count the
    queries of a POST.
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
    timed_ids, timed_tokens = checkin_ids[warm:], tokens[warm:]
    half = len(timed_ids) // 2
    product_ids, baseline_ids = timed_ids[:half], timed_ids[half:2 * half]
    product_paths = [f"/c/{token}/" for token in timed_tokens[:half]]
    baseline_paths = [f"/{BASELINE_PREFIX}{token}/" for token in timed_tokens[half:2 * half]]
    product_answers = [_form_answers(rng, days[i]) for i in product_ids]
    baseline_answers = [_form_answers(rng, days[i]) for i in baseline_ids]
    warm_paths = {
        "product": [f"/c/{token}/" for token in warm_tokens[:FORM_WARMUP_POSTS]],
        "baseline": [f"/{BASELINE_PREFIX}{token}/" for token in warm_tokens[FORM_WARMUP_POSTS:]],
    }
    warm_answers = [_form_answers(rng, days[i]) for i in warm_ids]

    server.wait_ready()
    client = _Client(server.port)
    status, product_csrf = _page_open(client, product_paths)
    if status != 200 or not product_csrf.token:
        return Result(
            operation="Patient form POST /c/<token>/ over HTTP",
            figure="—", status=PENDING, target=Target(">=", TARGET_RATIO),
            note=f"GET of a fresh link answered {status}"
                 f"{'' if product_csrf.token else ' without a CSRF token in a form'}: "
                 "the patient form (followups/views.py) has not landed yet.",
        )
    queries, query_kinds = (
        _queries_of_one_post(f"/c/{tokens[-1]}/", _form_answers(rng, days[checkin_ids[-1]]))
        if len(timed_ids) % 2 else (None, "")
    )
    status, baseline_csrf = _page_open(client, baseline_paths)
    if status != 200 or not baseline_csrf.token:
        raise RuntimeError(f"the baseline page answered {status} without a CSRF token")
    warm_statuses = {
        side: [status for status, _ in _posts(client, csrf, warm_paths[side], answers)[1]]
        for side, csrf, answers in (
            ("product", product_csrf, warm_answers[:FORM_WARMUP_POSTS]),
            ("baseline", baseline_csrf, warm_answers[FORM_WARMUP_POSTS:]),
        )
    }
    for side, statuses in warm_statuses.items():
        if any(status not in OK_STATUSES for status in statuses):
            raise RuntimeError(f"a warm-up POST of the {side} answered {statuses}")
    product, baseline = Side(), Side()
    quarter = half // 2
    for chunk in (slice(0, quarter), slice(quarter, half)):
        baseline.add(*_posts(client, baseline_csrf, baseline_paths[chunk],
                             baseline_answers[chunk]))
        product.add(*_posts(client, product_csrf, product_paths[chunk],
                            product_answers[chunk]))

    with connect(database_url) as connection:
        stored = connection.execute(
            "SELECT count(*) FROM followups_checkinresponse WHERE checkin_id = ANY(%s)",
            [product_ids],
        ).fetchone()[0]
        flagged = connection.execute(
            "SELECT count(*) FROM followups_escalation WHERE checkin_id = ANY(%s)",
            [product_ids],
        ).fetchone()[0]
    problems = []
    if product.ok != half or stored != half:
        problems.append(f"product: {product.ok} of {half} POSTs succeeded "
                        f"(statuses {product.statuses}), {stored} answers stored")
    if baseline.ok != half:
        problems.append(f"baseline: {baseline.ok} of {half} POSTs succeeded "
                        f"(statuses {baseline.statuses})")
    return Result(
        operation="Patient form POST /c/<token>/ over HTTP (gunicorn, 2 workers)",
        figure=product.describe() + (f", {queries} queries" if queries is not None else ""),
        baseline=f"{baseline.describe()} (1 indexed read + 1 insert)",
        ratio=product.rate / baseline.rate if baseline.rate else None,
        target=Target(">=", TARGET_RATIO),
        status="error" if problems else None,
        note="; ".join(problems) or (
            f"{half:,} timed POSTs each side from {CLIENT_THREADS} client threads, every one "
            "to a fresh link, with the CSRF cookie and token of an earlier (untimed) GET, "
            f"after {FORM_WARMUP_POSTS} untimed warm-up POSTs each side; "
            f"{stored:,} answers stored, {flagged:,} escalations raised. The baseline is "
            "bench.urls.baseline_checkin in the same gunicorn, settings and middleware."
            + (f" The queries of one POST (counted in-process): {query_kinds}."
               if query_kinds else "")
        ),
    )
