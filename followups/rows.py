"""Hand-written reads on the patient's path, returning the ORM's own model instances.

Opening and answering a link is what every patient does, and compiling the
ORM's joins for it cost more than PostgreSQL takes to run them. These
statements are written once; their columns come from the models' own fields,
so a new field is read without a change here, and each value is converted as
the ORM's compiler converts it.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from django.db import connection

from followups.models import CheckIn, CheckInLink, CheckInResponse
from patients.models import Clinic, Patient, Product, ProductApplication, TreatmentSession

_LINK_CHAIN = (CheckIn, TreatmentSession, Patient, Clinic)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _columns(model, alias: str) -> str:
    return ", ".join(f"{alias}.{_quote(model_field.column)}"
                     for model_field in model._meta.concrete_fields)


@cache
def _open_checkin_sql() -> str:
    table = {model: _quote(model._meta.db_table) for model in (CheckInLink, *_LINK_CHAIN)}
    columns = ", ".join(_columns(model, alias)
                        for model, alias in zip(_LINK_CHAIN, "cspk", strict=True))
    open_statuses = ", ".join(["%s"] * len(CheckIn.OPEN_STATUSES))
    return (
        f"SELECT {columns} FROM {table[CheckInLink]} l"
        f" JOIN {table[CheckIn]} c ON c.id = l.checkin_id"
        f" JOIN {table[TreatmentSession]} s ON s.id = c.session_id"
        f" JOIN {table[Patient]} p ON p.id = s.patient_id"
        f" JOIN {table[Clinic]} k ON k.id = p.clinic_id"
        " WHERE l.token_hash = %s AND l.revoked_at IS NULL AND l.expires_at > %s"
        f" AND c.status IN ({open_statuses}) AND s.cancelled_at IS NULL"
    )


@cache
def _earlier_responses_sql() -> str:
    return (
        f"SELECT {_columns(CheckInResponse, 'r')}"
        f" FROM {_quote(CheckInResponse._meta.db_table)} r"
        f" JOIN {_quote(CheckIn._meta.db_table)} c ON c.id = r.checkin_id"
        " WHERE c.session_id = %s AND c.day < %s ORDER BY c.day"
    )


@cache
def _session_ingredients_sql() -> str:
    ingredients = Product._meta.get_field("ingredients")
    return (
        f"SELECT pr.{_quote(ingredients.column)}"
        f" FROM {_quote(ProductApplication._meta.db_table)} a"
        f" JOIN {_quote(Product._meta.db_table)} pr ON pr.id = a.product_id"
        " WHERE a.session_id = %s ORDER BY a.id"
    )


@cache
def _converters(model) -> tuple[list[str], list[tuple]]:
    """A model's attribute names, and per column what the ORM's compiler converts it with."""
    fields = model._meta.concrete_fields
    per_column = []
    for model_field in fields:
        column = model_field.get_col(model._meta.db_table)
        per_column.append((column, (*connection.ops.get_db_converters(column),
                                    *column.get_db_converters(connection))))
    return [model_field.attname for model_field in fields], per_column


def _value(model, attname: str, value):
    """One column's value, converted as the ORM converts it."""
    attnames, per_column = _converters(model)
    column, converters = per_column[attnames.index(attname)]
    for converter in converters:
        value = converter(value, column, connection)
    return value


def _instance(model, values):
    attnames, per_column = _converters(model)
    converted = []
    for value, (column, converters) in zip(values, per_column, strict=True):
        for converter in converters:
            value = converter(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, attnames, converted)


def open_checkin_for_token_hash(hashed: str, *, now: datetime) -> CheckIn | None:
    """The open check-in of a live link, with its session, patient and clinic loaded."""
    with connection.cursor() as cursor:
        cursor.execute(_open_checkin_sql(),
                       [hashed, connection.ops.adapt_datetimefield_value(now),
                        *CheckIn.OPEN_STATUSES])
        row = cursor.fetchone()
    if row is None:
        return None
    instances, start = [], 0
    for model in _LINK_CHAIN:
        width = len(model._meta.concrete_fields)
        instances.append(_instance(model, row[start:start + width]))
        start += width
    checkin, session, patient, clinic = instances
    patient.clinic = clinic
    session.patient = patient
    checkin.session = session
    return checkin


def earlier_responses(*, session_id: int, day: int) -> list[CheckInResponse]:
    """The answers to the session's check-ins before ``day``, the earliest first."""
    with connection.cursor() as cursor:
        cursor.execute(_earlier_responses_sql(), [session_id, day])
        return [_instance(CheckInResponse, row) for row in cursor.fetchall()]


def session_ingredients(*, session_id: int) -> list[str]:
    """The ingredients of every product applied in the session, in the order applied."""
    with connection.cursor() as cursor:
        cursor.execute(_session_ingredients_sql(), [session_id])
        return [name for (value,) in cursor.fetchall()
                for name in _value(Product, "ingredients", value) or []]
