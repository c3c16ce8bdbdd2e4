"""The staff's escalation queue (admin) and the API list, against a minimal view of the same page.

Both pages are requested in-process through Django's test client, signed in
as the desk user of one clinic, through the full middleware stack. Each
baseline is a view of ``bench.urls`` requested the same way, by the same
client and user: one SQL query for the same page of the same rows, rendered
as an HTML table of the same columns (the queue) or as JSON objects with the
API's fields (the list). The bare query alone, through psycopg, is timed too
and shown as an informational row: it is the floor under both, not the same
job (no HTTP stack, no sign-in, no rendering).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.datagen import World
from bench.report import PENDING, Result, Target, informational, ms, percentile

TARGET_RATIO = 5.0
ADMIN_PATH = "/admin/followups/escalation/"
API_PATH = "/api/escalations/?status=open"
# The admin's change list puts each row's id in its action checkbox.
ADMIN_ROW_ID = re.compile(rb'name="_selected_action" value="(\d+)"')
BASELINE_ROW_ID = re.compile(rb'<tr data-id="(\d+)">')
CLIENT_ADDRESS = "127.0.0.1"  # every request's REMOTE_ADDR, the sign-in's included


@dataclass
class Page:
    operation: str
    short: str
    path: str
    baseline_path: str
    baseline_sql: str
    statuses: list[str]
    size: int
    pending: str | None = None


def _timed_alternating(calls: list[Callable[[], object]], count: int,
                       warm: int = 3) -> list[list[float]]:
    """Time each call ``count`` times, in turn, so a change in load falls on all alike."""
    for _ in range(warm):
        for call in calls:
            call()
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(count):
        for call, timings in zip(calls, times, strict=True):
            start = time.perf_counter()
            call()
            timings.append(time.perf_counter() - start)
    return times


def _admin_page() -> Page:
    """The queue as the admin serves it; pending while the admin is the default one."""
    from django.contrib import admin

    from bench.urls import QUEUE_BASELINE_PATH, QUEUE_PAGE, QUEUE_STATUSES
    from followups.models import Escalation

    model_admin = admin.site._registry.get(Escalation)
    pending = None
    if model_admin is None:
        pending = "Escalation is not registered in the admin."
    elif type(model_admin) is admin.ModelAdmin:
        pending = ("Escalation is registered with the default ModelAdmin: the staff queue "
                   "(followups/desk/admin.py) has not landed yet. Figure measured on the default "
                   "change list, for reference only.")
    size = model_admin.list_per_page if model_admin is not None else 100
    return Page(operation="Admin escalation queue " + ADMIN_PATH, short="the admin queue",
                path=ADMIN_PATH,
                baseline_path=f"/{QUEUE_BASELINE_PATH}?size={size}", baseline_sql=QUEUE_PAGE,
                statuses=list(QUEUE_STATUSES), size=size, pending=pending)


def _api_page() -> Page:
    from django.conf import settings

    from bench.urls import LIST_BASELINE_PATH, LIST_PAGE

    size = settings.REST_FRAMEWORK["PAGE_SIZE"]
    return Page(operation="API escalation list GET " + API_PATH, short="the API list",
                path=API_PATH,
                baseline_path=f"/{LIST_BASELINE_PATH}?status=open&size={size}",
                baseline_sql=LIST_PAGE, statuses=["open"], size=size)


def _anonymous_status(path: str) -> int:
    """The status a signed-out request gets (the expected 403 is not logged as a warning)."""
    from django.test import Client

    request_log = logging.getLogger("django.request")
    level = request_log.level
    request_log.setLevel(logging.ERROR)
    try:
        return Client(HTTP_HOST="127.0.0.1").get(path).status_code
    finally:
        request_log.setLevel(level)


def _sign_in(client, user) -> None:
    """Sign the desk user in as a nurse does: the admin's sign-in form, from 127.0.0.1.

    The password and the code of a confirmed authenticator (django-otp TOTP,
    enrolled as ``create_staff --otp`` does), in one POST through the whole
    middleware stack: django-axes records the sign-in from the client's
    address, and the session carries its verified second factor, so the
    pages below are served as to a signed-in nurse, not redirected.
    """
    import secrets

    from django.urls import reverse
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.oath import TOTP

    from accounts.otp import totp_enroll

    password = secrets.token_urlsafe(24)
    user.set_password(password)  # the generated desk users have an unusable one
    user.save(update_fields=["password"])
    device = totp_enroll(user=user)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    response = client.post(reverse("admin:login"), {
        "username": user.get_username(), "password": password,
        "otp_token": f"{code:0{device.digits}d}", "next": ADMIN_PATH,
    })
    if response.status_code != 302 or not client.session.get(DEVICE_ID_SESSION_KEY):
        raise RuntimeError(f"the desk user's sign-in answered {response.status_code} "
                           "without a verified second factor in the session")


def _row_ids(page: Page, content: bytes, *, baseline: bool) -> list[int]:
    """The escalations a response lists, in order: the two sides must list the same."""
    if page.path == API_PATH:
        return [row["id"] for row in json.loads(content)["results"]]
    pattern = BASELINE_ROW_ID if baseline else ADMIN_ROW_ID
    return [int(found) for found in pattern.findall(content)]


def escalation_lists_bench(*, world: World, database_url: str, requests: int) -> list[Result]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.database import connect

    clinic_id = world.measured_clinic_id
    user = get_user_model().objects.get(pk=world.staff_ids[clinic_id])
    client = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR=CLIENT_ADDRESS)
    _sign_in(client, user)
    results = []
    with connect(database_url) as raw:
        unresolved = raw.execute(
            "SELECT count(*) FROM followups_escalation e JOIN patients_patient p"
            " ON p.id = e.patient_id WHERE p.clinic_id = %s AND e.status <> 'resolved'",
            [clinic_id],
        ).fetchone()[0]
        for page in (_admin_page(), _api_page()):
            response = client.get(page.path)
            if response.status_code != 200:
                results.append(Result(
                    operation=page.operation, figure=f"HTTP {response.status_code}",
                    target=Target("<=", TARGET_RATIO), status=PENDING if page.pending else "error",
                    note=page.pending or f"{page.path} answered {response.status_code}.",
                ))
                continue
            baseline_response = client.get(page.baseline_path)
            if baseline_response.status_code != 200:
                raise RuntimeError(f"the baseline {page.baseline_path} answered "
                                   f"{baseline_response.status_code}")
            if _anonymous_status(page.baseline_path) != 403:
                raise RuntimeError(f"the baseline {page.baseline_path} serves anonymous users")
            problems = []
            product_ids = _row_ids(page, response.content, baseline=False)
            baseline_ids = _row_ids(page, baseline_response.content, baseline=True)
            if product_ids != baseline_ids and not page.pending:
                problems.append(f"the baseline lists other rows than {page.path}: "
                                f"{len(baseline_ids)} vs {len(product_ids)} rows, first ids "
                                f"{baseline_ids[:3]} vs {product_ids[:3]}")
            queries = {}
            for side, path in (("product", page.path), ("baseline", page.baseline_path)):
                with CaptureQueriesContext(connection) as captured:
                    client.get(path)
                # Counted now: the next request's request_started signal empties the log.
                queries[side] = len(captured)
            arguments = [user.pk, page.statuses, page.size]
            raw_rows = len(raw.execute(page.baseline_sql, arguments).fetchall())
            page_times, baseline_times, raw_times = _timed_alternating([
                lambda page=page: client.get(page.path),
                lambda page=page: client.get(page.baseline_path),
                lambda page=page, arguments=arguments: raw.execute(page.baseline_sql,
                                                                    arguments).fetchall(),
            ], requests)
            page_p50 = percentile(page_times, 0.5)
            baseline_p50 = percentile(baseline_times, 0.5)
            raw_p50 = percentile(raw_times, 0.5)
            kind = ("an HTML table of the same columns (inline template)"
                    if page.path == ADMIN_PATH else "JSON objects with the API's fields")
            results.append(Result(
                operation=page.operation,
                figure=f"p50 {ms(page_p50)}, p95 {ms(percentile(page_times, 0.95))}, "
                       f"{queries['product']} queries/request",
                baseline=f"p50 {ms(baseline_p50)}, p95 {ms(percentile(baseline_times, 0.95))},"
                         f" {queries['baseline']} queries/request: minimal view, "
                         f"1 raw query ({len(baseline_ids)} rows)",
                ratio=page_p50 / baseline_p50,
                target=Target("<=", TARGET_RATIO),
                status="error" if problems else PENDING if page.pending else None,
                note="; ".join(problems) or page.pending or (
                    f"{requests} requests each in-process, alternating (django.test.Client, "
                    "the same middleware and session, signed in through the admin's sign-in form "
                    "with a password and an authenticator code as the desk user of a clinic "
                    f"with {unresolved:,} unresolved escalations). Baseline: "
                    f"{page.baseline_path.split('?')[0]} in bench/urls.py, one SQL query for "
                    f"the same {page.size}-row page (status in {page.statuses}, the user's "
                    "clinics, urgent first then oldest) rendered as " + kind + "; both list "
                    "the same escalations in the same order (checked). Queries per request "
                    "include the middleware's session and user reads."
                ),
            ))
            results.append(informational(
                operation=f"↳ for reference: {page.short}'s query alone (psycopg, no HTTP)",
                figure=f"p50 {ms(raw_p50)} ({raw_rows} rows)",
                ratio=page_p50 / raw_p50,
                note=(f"The baseline view's SQL for {page.path}, timed alone through psycopg "
                      "in the same alternation; the ratio is the page's p50 over it (the old "
                      "comparison, not judged: it leaves out the HTTP stack, the sign-in and "
                      "the rendering that both pages do)."),
            ))
    return results
