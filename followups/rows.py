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
# Where the link lookup leaves the earlier answers on the check-in it loads.
_EARLIER = "_earlier_responses"


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
    # One row per earlier check-in of the session (its answers, if any, in the
    # last columns), or one row with those columns empty when there is none.
    return (
        f"SELECT {columns}, {_columns(CheckInResponse, 'r')} FROM {table[CheckInLink]} l"
        f" JOIN {table[CheckIn]} c ON c.id = l.checkin_id"
        f" JOIN {table[TreatmentSession]} s ON s.id = c.session_id"
        f" JOIN {table[Patient]} p ON p.id = s.patient_id"
        f" JOIN {table[Clinic]} k ON k.id = p.clinic_id"
        f" LEFT JOIN {table[CheckIn]} e ON e.session_id = c.session_id AND e.day < c.day"
        f" LEFT JOIN {_quote(CheckInResponse._meta.db_table)} r ON r.checkin_id = e.id"
        " WHERE l.token_hash = %s AND l.revoked_at IS NULL AND l.expires_at > %s"
        f" AND c.status IN ({open_statuses}) AND s.cancelled_at IS NULL"
        " ORDER BY e.day"
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
    """The open check-in of a live link, with its session, patient and clinic loaded.

    The answers to the session's earlier check-ins come in the same statement
    (the assessment compares with them); ``earlier_responses_of`` gives them.
    """
    with connection.cursor() as cursor:
        cursor.execute(_open_checkin_sql(),
                       [hashed, connection.ops.adapt_datetimefield_value(now),
                        *CheckIn.OPEN_STATUSES])
        found = cursor.fetchall()
    if not found:
        return None
    instances, start = [], 0
    for model in _LINK_CHAIN:
        width = len(model._meta.concrete_fields)
        instances.append(_instance(model, found[0][start:start + width]))
        start += width
    checkin, session, patient, clinic = instances
    patient.clinic = clinic
    session.patient = patient
    checkin.session = session
    answered = [row[start:] for row in found if row[start] is not None]
    checkin.__dict__[_EARLIER] = [_instance(CheckInResponse, row) for row in answered]
    return checkin


def earlier_responses_of(checkin: CheckIn) -> list[CheckInResponse]:
    """The answers to the session's check-ins before this one, the earliest first.

    Loaded with the check-in when it came from its link; read otherwise.
    """
    loaded = checkin.__dict__.get(_EARLIER)
    if loaded is not None:
        return loaded
    return earlier_responses(session_id=checkin.session_id, day=checkin.day)


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
