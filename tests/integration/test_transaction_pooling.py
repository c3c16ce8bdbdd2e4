"""Behind PgBouncer in transaction mode (DATABASE_TRANSACTION_POOLING=true).

.ci/run runs the integration tests a second time through a real PgBouncer
(pool_mode = transaction) in front of the local PostgreSQL; these tests say
what must hold there. Each transaction may then run on another server
connection, so nothing may outlive one: no server-side cursor, no prepared
statement.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from followups.desk import exports
from tests.admin.builders import answer, ensure_clinic_staff_group
from tests.factories import session_with_checkins

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pooled(require_postgres):
    if not settings.DATABASE_TRANSACTION_POOLING:
        pytest.skip("runs through the pooler: DATABASE_TRANSACTION_POOLING=true (.ci/run)")


def another_client():
    """A second client of the same pooler (or server), as another web worker would be."""
    params = connection.get_connection_params()
    return psycopg.connect(
        dbname=params["dbname"], host=params.get("host"), port=params.get("port"),
        user=params.get("user"), password=params.get("password") or None, autocommit=True,
        prepare_threshold=None,
    )


def test_the_connection_keeps_nothing_between_transactions(pooled):
    assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert connection.settings_dict["OPTIONS"].get("server_side_binding") is not True
    for _ in range(10):  # psycopg would prepare a statement on its 5th run
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            [prepared] = cursor.fetchone()
    assert prepared == 0


def test_the_csv_export_streams_while_other_clients_use_the_pool(
        require_postgres, client, staff, clinic, monkeypatch):
    """The export reads its rows outside any transaction, a chunk at a time.

    Between two chunks another client takes the server connection the export
    just used; a server-side cursor left on it (Django's ``iterator()`` in
    autocommit declares one WITH HOLD) would be gone from the next.
    """
    monkeypatch.setattr(exports, "EXPORT_CHUNK_ROWS", 2)
    staff.groups.add(ensure_clinic_staff_group())
    for index in range(5):
        session = session_with_checkins(patient=_patient(clinic, index), practitioner=staff,
                                        performed_at=timezone.now() - timedelta(days=3))
        answer(session.checkins.get(day=2), comments=f"answer {index}")
    client.force_login(staff)
    today = timezone.localdate()

    reply = client.post("/admin/exports/", {
        "what": "answers", "start": (today - timedelta(days=30)).isoformat(),
        "end": (today + timedelta(days=1)).isoformat(),
    })
    assert reply.status_code == 200
    lines = iter(reply.streaming_content)
    body = [next(lines), next(lines)]  # the header and the first chunk's first row
    with another_client() as other, other.transaction():
        other.execute("SELECT 1")  # holds a server connection until the block ends
        body += list(lines)

    exported = list(csv.DictReader(io.StringIO(b"".join(body).decode())))
    assert sorted(row["comments"] for row in exported) == [f"answer {i}" for i in range(5)]


def _patient(clinic, index):
    from tests.factories import PatientFactory

    return PatientFactory(clinic=clinic, first_name=f"Pooled{index}")
