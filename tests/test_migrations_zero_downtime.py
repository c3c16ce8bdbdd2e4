"""Every new migration applies without locking out the clinics' staff and patients.

Checked with django-pg-zero-downtime-migrations, the database backend in
production: its schema editor, with ``ZERO_DOWNTIME_MIGRATIONS_RAISE_FOR_UNSAFE``,
raises on an operation that would hold an ACCESS EXCLUSIVE lock while it
rewrites or scans a table (a NOT NULL column without a database default, a
column type change, a rename). On top of it, our own rules
(docs/deployment.md, "Migrations that lock nothing"): an index is added with
``AddIndexConcurrently`` in a migration with ``atomic = False``, and a data
migration (RunPython) is a migration of its own, never mixed with schema changes.

The migrations written before the rules (GRANDFATHERED, by name) applied
long ago everywhere: they are read, never held to them.
"""

from __future__ import annotations

import pytest
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader
from django.test import override_settings
from django_zero_downtime_migrations.backends.postgres.schema import UnsafeOperationException

OUR_APPS = ("patients", "followups", "health", "accounts")
GRANDFATHERED = {
    "patients": {"0001_initial", "0002_clinic_staff_group", "0003_needle_depth_validator",
                 "0004_fk_indexes_covered", "0005_languages",
                 "0006_session_ingredients_catalogue", "0007_names_without_control_characters",
                 "0008_phase_labels_as_the_api", "0009_notes_length"},
    "followups": {"0001_initial", "0002_checkin_names_and_list_indexes",
                  "0003_fk_indexes_covered", "0004_escalation_clusters_checked_by_the_sweep",
                  "0005_delivery_provider_message_and_undelivered",
                  "0006_watch_comments_catalogue_audit", "0007_comment_waiting",
                  "0008_delivery", "0009_deliveries_of_checkins_sent",
                  "0010_remove_checkin_provider_message_id",
                  "0011_reasons_as_codes_and_parameters", "0012_free_text_lengths"},
    "health": {"0001_initial"},
}
DATA_OPERATIONS = (migrations.RunPython, migrations.RunSQL)

# Outside a transaction: a concurrent index is refused inside one, even to print its SQL.
pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="the rules are PostgreSQL's locks")]


def migration_problems(migration, state) -> list[str]:
    """What would lock a table in ``migration``, applied on ``state``; [] if nothing."""
    problems = []
    operations = migration.operations
    for operation in operations:
        if isinstance(operation, migrations.AddIndex) and not isinstance(
                operation, AddIndexConcurrently):
            problems.append(f"{operation.describe()}: use AddIndexConcurrently")
        if isinstance(operation, AddIndexConcurrently) and migration.atomic:
            problems.append(f"{operation.describe()}: needs atomic = False")
    data = [op for op in operations if isinstance(op, migrations.RunPython)]
    schema = [op for op in operations if not isinstance(op, DATA_OPERATIONS)
]
    if data and schema:
        problems.append("a data migration (RunPython) mixed with schema changes: "
                        "give the backfill its own migration")
    with override_settings(ZERO_DOWNTIME_MIGRATIONS_RAISE_FOR_UNSAFE=True):
        try:
            with connection.schema_editor(collect_sql=True, atomic=False) as editor:
                migration.apply(state.clone(), editor, collect_sql=True)
        except UnsafeOperationException as unsafe:
            problems.append(str(unsafe).splitlines()[0])
    return problems


def _new_migrations():
    loader = MigrationLoader(connection, replace_migrations=False)
    for (app, name), migration in sorted(loader.disk_migrations.items()):
        if app in OUR_APPS and name not in GRANDFATHERED.get(app, ()):
            yield loader, migration


def test_it_holds_every_new_migration_to_the_rules():
    checked = []
    for loader, migration in _new_migrations():
        state = loader.project_state((migration.app_label, migration.name), at_end=False)
        problems = migration_problems(migration, state)
        assert problems == [], f"{migration.app_label}.{migration.name}: {problems}"
        checked.append(migration.name)
    assert "0016_clinic_on_checkins_answers_escalations" in checked


def _latest_state():
    return MigrationLoader(connection, replace_migrations=False).project_state()


def test_it_refuses_a_not_null_column_without_a_database_default():
    migration = migrations.Migration("9999_nickname", "patients")
    migration.operations = [migrations.AddField(
        "patient", "nickname", models.CharField(max_length=20, default="x"))]

    problems = migration_problems(migration, _latest_state())

    assert problems and "NOT NULL" in problems[0]


def test_it_refuses_a_column_type_that_rewrites_the_table():
    migration = migrations.Migration("9999_shorter_names", "patients")
    migration.operations = [migrations.AlterField(
        "patient", "first_name", models.CharField(max_length=20))]

    assert migration_problems(migration, _latest_state())


def test_it_refuses_a_plain_index_and_a_backfill_mixed_with_schema():
    migration = migrations.Migration("9999_index", "patients")
    migration.operations = [
        migrations.AddField("patient", "nickname", models.CharField(max_length=20, null=True)),
        migrations.AddIndex("patient", models.Index(fields=["email"], name="patient_email")),
        migrations.RunPython(migrations.RunPython.noop),
    ]

    problems = migration_problems(migration, _latest_state())

    assert any("AddIndexConcurrently" in problem for problem in problems)
    assert any("RunPython" in problem for problem in problems)


def test_it_accepts_a_nullable_column_and_a_concurrent_index():
    column = migrations.Migration("9999_nickname", "patients")
    column.operations = [migrations.AddField(
        "patient", "nickname", models.CharField(max_length=20, null=True))]
    index = migrations.Migration("9999_index", "patients")
    index.atomic = False
    index.operations = [AddIndexConcurrently(
        "patient", models.Index(fields=["email"], name="patient_email"))]

    assert migration_problems(column, _latest_state()) == []
    assert migration_problems(index, _latest_state()) == []
