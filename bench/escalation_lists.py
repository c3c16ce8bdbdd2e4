"""The staff's escalation queue (admin) and the API list, against a raw query of the same page.

Both pages are requested in-process through Django's test client, signed in
as the desk user of one clinic, through the full middleware stack; the
baseline is the one SQL query that fetches the same rows with the patients'
names, through psycopg.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.datagen import World
from bench.report import PENDING, Result, Target, ms, percentile

TARGET_RATIO = 5.0
ADMIN_PATH = "/admin/followups/escalation/"
API_PATH = "/api/escalations/?status=open"

RAW_PAGE = """
    SELECT e.*, p.first_name, p.last_name
    FROM followups_escalation e JOIN patients_patient p ON p.id = e.patient_id
    WHERE p.clinic_id = %s AND e.status = ANY(%s)
    ORDER BY e.level_rank DESC, e.created_at, e.id
    LIMIT %s
"""


@dataclass
class Page:
    operation: str
    path: str
    statuses: list[str]
    size: int
    pending: str | None = None


def _timed_pair(page: Callable[[], object], raw: Callable[[], object],
                count: int, warm: int = 3) -> tuple[list[float], list[float]]:
    """Time both, alternating, so a change in the machine's load falls on both alike."""
    for _ in range(warm):
        page()
        raw()
    page_times, raw_times = [], []
    for _ in range(count):
        for call, times in ((page, page_times), (raw, raw_times)):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
    return page_times, raw_times


def _admin_page() -> Page:
    """The queue as the admin serves it; pending while the admin is the default one."""
    from django.contrib import admin

    from followups.models import Escalation

    model_admin = admin.site._registry.get(Escalation)
    pending = None
    if model_admin is None:
        pending = "Escalation is not registered in the admin."
    elif type(model_admin) is admin.ModelAdmin:
        pending = ("Escalation is registered with the default ModelAdmin: the staff queue "
                   "(followups/admin.py) has not landed yet. Figure measured on the default "
                   "change list, for reference only.")
    size = model_admin.list_per_page if model_admin is not None else 100
    return Page(operation="Admin escalation queue " + ADMIN_PATH, path=ADMIN_PATH,
                statuses=["open", "acknowledged"], size=size, pending=pending)


def _api_page() -> Page:
    from django.conf import settings

    return Page(operation="API escalation list GET " + API_PATH, path=API_PATH,
                statuses=["open"], size=settings.REST_FRAMEWORK["PAGE_SIZE"])


def escalation_lists_bench(*, world: World, database_url: str, requests: int) -> list[Result]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.database import connect

    clinic_id = world.measured_clinic_id
    user = get_user_model().objects.get(pk=world.staff_ids[clinic_id])
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
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
            with CaptureQueriesContext(connection) as captured:
                client.get(page.path)
            # Counted now: the next request's request_started signal empties the log.
            queries = len(captured)
            arguments = [clinic_id, page.statuses, page.size]
            raw_rows = len(raw.execute(RAW_PAGE, arguments).fetchall())
            page_times, raw_times = _timed_pair(
                lambda page=page: client.get(page.path),
                lambda arguments=arguments: raw.execute(RAW_PAGE, arguments).fetchall(),
                requests,
            )
            page_p50, raw_p50 = percentile(page_times, 0.5), percentile(raw_times, 0.5)
            results.append(Result(
                operation=page.operation,
                figure=f"p50 {ms(page_p50)}, p95 {ms(percentile(page_times, 0.95))}, "
                       f"{queries} queries/request",
                baseline=f"p50 {ms(raw_p50)} raw query ({raw_rows} rows)",
                ratio=page_p50 / raw_p50,
                target=Target("<=", TARGET_RATIO),
                status=PENDING if page.pending else None,
                note=page.pending or (
                    f"{requests} requests in-process, alternating with the raw query "
                    "(django.test.Client, signed in as the "
                    f"desk user of a clinic with {unresolved:,} unresolved escalations); "
                    f"baseline: one SELECT of the same {page.size}-row page "
                    f"(status in {page.statuses}, urgent first then oldest, with patient "
                    "names) through psycopg."
                ),
            ))
    return results
