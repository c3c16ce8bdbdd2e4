"""The columns a raw statement of the benchmark does not name, and what the ORM would write there.

The benchmark writes rows directly (COPY, INSERT … SELECT, a baseline's
INSERT): each names the columns it measures. A field added to a model later
(a language, a provider's message id) would break those statements with a
NOT NULL violation; read from the model instead, every other column gets the
value the ORM gives a new row, its default, so the statements keep working
and still write complete rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    value: object  # as a statement parameter or a COPY value: JSON already dumped
    db_type: str  # for a cast where PostgreSQL cannot infer the parameter's type

    @property
    def placeholder(self) -> str:
        return f"%s::{self.db_type}"


def columns_not_written(table: str, written) -> list[Column]:
    """``table``'s model's concrete columns not in ``written``, with their defaults.

    A column the database fills itself (an identity, a ``db_default``, a
    generated column) is left out, and so is a nullable one whose default is
    None: the row gets NULL there either way. A NOT NULL column with no
    default cannot be made up: the caller must write it, and a RuntimeError
    says which.
    """
    from django.apps import apps
    from django.db import connection
    from django.db.models import NOT_PROVIDED, JSONField
    from django.db.models.fields import AutoFieldMixin

    models = {model._meta.db_table: model for model in apps.get_models()}
    found = []
    for model_field in models[table]._meta.concrete_fields:
        if (model_field.column in written or model_field.db_default is not NOT_PROVIDED
                or isinstance(model_field, AutoFieldMixin) or model_field.generated):
            continue
        # As the ORM's: the default, or "" for a text column without one.
        value = model_field.get_default()
        if value is None:
            if not model_field.null:
                raise RuntimeError(f"bench: {table}.{model_field.column} is NOT NULL with no "
                                   "default: the benchmark must write it")
            continue  # left out, it is NULL, as the ORM writes it
        if isinstance(model_field, JSONField):
            value = json.dumps(value)
        found.append(Column(model_field.column, value, model_field.db_type(connection)))
    return found
