"""Recording a session: ``session_create`` with 2 products, against raw INSERTs of its rows."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal

from bench.datagen import World
from bench.report import Result, Target, ms, percentile, queries_summary

TARGET_RATIO = 3.0
WARMUP_CALLS = 6  # untimed, each side: both prepare a statement on its 5th run

# What each raw INSERT writes itself; every other column of the model gets its
# default (bench/columns.py), as the ORM's rows do.
RAW_SESSION_COLUMNS = ("patient_id", "practitioner_id", "performed_at", "treatment_area",
                       "device", "needle_depth_mm", "notes", "created_at")
RAW_SESSION_VALUES = "%s, %s, %s, %s, %s, %s, '', now()"
# Each product's ingredients as the session records them (the product's list, read with it).
RAW_APPLICATION_COLUMNS = ("session_id", "product_id", "phase", "lot_number", "ingredients")
RAW_APPLICATION_VALUES = ("%s, %s, 'pre', %s, %s::jsonb", "%s, %s, 'post', %s, %s::jsonb")
RAW_CHECKIN_COLUMNS = ("session_id", "day", "status", "due_at", "next_action_at", "attempts",
                       "last_error", "send_generation", "created_at")
RAW_CHECKIN_VALUES = "%s, %s, 'scheduled', %s, %s, 0, '', 1, now()"


def _insert(table: str, columns: tuple[str, ...], rows: tuple[str, ...],
            returning: str = "") -> tuple[str, list]:
    """An INSERT of ``rows`` (VALUES texts) and the default parameters each row appends."""
    from bench.columns import columns_not_written

    others = columns_not_written(table, columns)
    extra = "".join(f", {column.placeholder}" for column in others)
    sql = (f"INSERT INTO {table} ({', '.join([*columns, *(c.name for c in others)])})"
           f" VALUES {', '.join(f'({row}{extra})' for row in rows)}{returning}")
    return sql, [column.value for column in others]


def session_create_bench(*, world: World, database_url: str, count: int) -> Result:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from bench.database import connect
    from followups.assessment.schedule import checkin_due_at
    from followups.sessions import session_create
    from patients.models import Patient, Product

    clinic_id = world.measured_clinic_id
    practitioner = get_user_model().objects.get(pk=world.practitioner_ids[clinic_id][0])
    patients = list(Patient.objects.select_related("clinic").filter(clinic_id=clinic_id)
                    .order_by("id")[:2 * (count + WARMUP_CALLS)])
    numbing = Product.objects.get(pk=world.numbing_product_ids[0])
    serum = Product.objects.get(pk=world.serum_product_ids[0])
    # An hour ago: both check-ins fall due days from now, never during the run.
    performed_at = timezone.now() - timedelta(hours=1)
    products = [{"product": numbing, "phase": "pre", "lot_number": "LB-1"},
                {"product": serum, "phase": "post", "lot_number": "LB-2"}]

    def product_one(patient) -> None:
        # As in a request: the actor's clinics are looked up once per call.
        practitioner.__dict__.pop("_clinic_ids_cache", None)
        session_create(actor=practitioner, patient=patient, practitioner=practitioner,
                       performed_at=performed_at, treatment_area="face",
                       needle_depth_mm=Decimal("1.00"), device="Dermapen 4",
                       products=products)

    raw_session, session_defaults = _insert("patients_treatmentsession", RAW_SESSION_COLUMNS,
                                            (RAW_SESSION_VALUES,), " RETURNING id")
    raw_applications, application_defaults = _insert(
        "patients_productapplication", RAW_APPLICATION_COLUMNS, RAW_APPLICATION_VALUES)
    raw_checkins, checkin_defaults = _insert("followups_checkin", RAW_CHECKIN_COLUMNS,
                                             (RAW_CHECKIN_VALUES,) * 2)

    def raw_one(cursor, patient) -> None:
        clinic = patient.clinic
        cursor.execute(raw_session, (patient.id, practitioner.id, performed_at, "face",
                                     "Dermapen 4", Decimal("1.00"), *session_defaults))
        session_id = cursor.fetchone()[0]
        values = []
        for product, lot_number in ((numbing, "LB-1"), (serum, "LB-2")):
            values += [session_id, product.id, lot_number,
                       json.dumps(list(product.ingredients or [])), *application_defaults]
        cursor.execute(raw_applications, values)
        values = []
        for day in (2, 7):
            due_at = checkin_due_at(performed_at=performed_at, timezone=clinic.timezone,
                                    send_hour=clinic.send_hour, day=day)
            values += [session_id, day, due_at, due_at, *checkin_defaults]
        cursor.execute(raw_checkins, values)
        cursor.connection.commit()

    ours, raws = patients[:count + WARMUP_CALLS], patients[count + WARMUP_CALLS:]
    product_times, raw_times = [], []
    with connect(database_url, autocommit=False) as raw, raw.cursor() as cursor:
        with CaptureQueriesContext(connection) as captured:
            product_one(ours[0])
        queries = len(captured)
        query_kinds = queries_summary(captured.captured_queries)
        for ours_next, raw_next in zip(ours[1:WARMUP_CALLS], raws[:WARMUP_CALLS], strict=False):
            product_one(ours_next)
            raw_one(cursor, raw_next)
        # Alternating, so a change in the machine's load falls on both alike.
        for ours_next, raw_next in zip(ours[WARMUP_CALLS:], raws[WARMUP_CALLS:], strict=True):
            start = time.perf_counter()
            product_one(ours_next)
            product_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            raw_one(cursor, raw_next)
            raw_times.append(time.perf_counter() - start)

    product_mean = sum(product_times) / len(product_times)
    raw_mean = sum(raw_times) / len(raw_times)
    return Result(
        operation="Create a session with 2 products and its 2 check-ins",
        figure=f"{ms(product_mean)}/session (p95 {ms(percentile(product_times, 0.95))}), "
               f"{queries} queries",
        baseline=f"{ms(raw_mean)}/session raw INSERTs (3 statements)",
        ratio=product_mean / raw_mean,
        target=Target("<=", TARGET_RATIO),
        note=f"{len(product_times):,} calls of followups.sessions.session_create, one "
             f"transaction each, alternating with {len(raw_times):,} raw transactions "
             "inserting the same rows (session RETURNING id, 2 applications with their "
             "products' ingredients, 2 check-ins; due times from the same "
             "followups.assessment.schedule) through psycopg, after "
             f"{WARMUP_CALLS} untimed calls of each (both connections prepare a statement on "
             f"its 5th run). The queries of one call: {query_kinds}.",
    )
