"""The database schema: migrations match the models; every foreign key is indexed once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.models import UniqueConstraint

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("patients", "followups")


def test_the_migrations_match_the_models():
    out = StringIO()

    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)

    assert "No changes detected" in out.getvalue()


def _leading_fields(model) -> list[list[str]]:
    """Field lists of the model's indexes and unique constraints that cover every row."""
    lists = [list(index.fields) for index in model._meta.indexes if index.condition is None]
    lists += [list(constraint.fields) for constraint in model._meta.constraints
              if isinstance(constraint, UniqueConstraint) and constraint.fields
              and constraint.condition is None]
    lists += [list(fields) for fields in model._meta.unique_together]
    return lists


def _foreign_keys():
    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models():
            for model_field in model._meta.concrete_fields:
                if model_field.is_relation:
                    yield model, model_field


def test_every_foreign_key_leads_an_index():
    # Deleting a parent row, and every join from it, looks the children up
    # by this column: without an index each is a scan of the whole table.
    unindexed = [
        f"{model.__name__}.{model_field.name}" for model, model_field in _foreign_keys()
        if not (model_field.db_index or model_field.unique)
        and not any(fields[0] == model_field.name for fields in _leading_fields(model))
    ]

    assert unindexed == []


def test_no_foreign_key_has_an_index_another_already_leads_with():
    # A one-column index on a column that a composite index starts with (over
    # every row, so not a partial one) serves no read the composite does not,
    # and costs a write on every insert and on every update of the row.
    redundant = [
        f"{model.__name__}.{model_field.name}" for model, model_field in _foreign_keys()
        if model_field.db_index and not model_field.unique
        and any(len(fields) > 1 and fields[0] == model_field.name
                for fields in _leading_fields(model))
    ]

    assert redundant == []


def test_the_database_has_the_indexes_the_models_declare():
    # The migrations drop the redundant indexes by name: none must be left behind.
    with connection.cursor() as cursor:
        one_column = {
            (model._meta.db_table, model_field.column)
            for model, model_field in _foreign_keys()
            for details in connection.introspection.get_constraints(
                cursor, model._meta.db_table).values()
            if details["index"] and not details["unique"]
            and details["columns"] == [model_field.column]
        }
    declared = {(model._meta.db_table, model_field.column)
                for model, model_field in _foreign_keys()
                if (model_field.db_index and not model_field.unique)
                # or a one-column index of the model's own, over every row (one
                # built concurrently on a table already in use)
                or [model_field.name] in _leading_fields(model)
                and any(list(index.fields) == [model_field.name] for index in model._meta.indexes
                        if index.condition is None)}

    assert one_column == declared
