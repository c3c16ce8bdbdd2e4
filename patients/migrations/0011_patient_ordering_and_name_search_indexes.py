"""The patients' list order as an index, and trigram indexes for searching names and emails.

Both built without blocking writes (CREATE INDEX CONCURRENTLY, hence
``atomic = False``). The admin's and the API's search is ``icontains``, which
PostgreSQL runs as ``UPPER(column) LIKE UPPER('%…%')``: a GIN index of
``UPPER(column) gin_trgm_ops`` serves it. PostgreSQL only (pg_trgm); on the
SQLite demo the search stays a scan. Not declared in ``Patient.Meta`` for
that reason: an expression index with an operator class would not build on SQLite.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently, RunSQLOnPostgres

SEARCHED = ("last_name", "first_name", "email")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("patients", "0010_membership_manager_role"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="patient",
            index=models.Index(fields=["last_name", "first_name", "id"], name="patient_ordering"),
        ),
        TrigramExtension(),
        *[RunSQLOnPostgres(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS patient_{column}_trgm "
            f"ON patients_patient USING gin (UPPER({column}) gin_trgm_ops)",
            f"DROP INDEX CONCURRENTLY IF EXISTS patient_{column}_trgm",
        ) for column in SEARCHED],
    ]
