"""/api/exports/: an export of any size, built by a worker, fetched when ready."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from followups.desk.exports import export_build
from followups.models import AuditEvent, Export
from tests.factories import response_for, session_with_checkins

pytestmark = pytest.mark.django_db


def test_it_builds_an_export_and_serves_it_to_whoever_asked(
        api, outsider_api, staff, patient, django_capture_on_commit_callbacks):
    session = session_with_checkins(patient=patient, practitioner=staff)
    response_for(session.checkins.get(day=2), fever=True)
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        asked = api.post("/api/exports/", {"what": "answers",
                                           "start": (today - timedelta(days=365)).isoformat(),
                                           "end": today.isoformat()}, format="json")

    assert asked.status_code == 202, asked.content
    body = asked.json()
    assert (body["status"], body["download"]) == ("pending", None)
    assert api.get(f"/api/exports/{body['id']}/download/").status_code == 404
    assert AuditEvent.objects.filter(action="export", actor=staff).count() == 1

    export_build(export_id=body["id"])  # what the worker runs

    ready = api.get(f"/api/exports/{body['id']}/").json()
    assert (ready["status"], ready["rows"]) == ("ready", 1)
    download = api.get(ready["download"])
    assert download.status_code == 200
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert lines[0].startswith("response_id,") and len(lines) == 2
    assert outsider_api.get(f"/api/exports/{body['id']}/").status_code == 404
    assert outsider_api.get(f"/api/exports/{body['id']}/download/").status_code == 404


@pytest.mark.parametrize(("payload", "field"), [
    ({"what": "everything", "start": "2026-01-01", "end": "2026-01-02"}, "what"),
    ({"what": "queue", "start": "2026-02-01", "end": "2026-01-01"}, "end"),
    ({"what": "queue", "start": "2024-01-01", "end": "2026-01-01"}, "end"),
    ({"what": "queue", "start": "soon", "end": "2026-01-01"}, "start"),
])
def test_it_names_the_field_of_a_bad_request(api, payload, field):
    response = api.post("/api/exports/", payload, format="json")

    assert response.status_code == 400 and field in response.json()
    assert not Export.objects.exists()


def test_it_refuses_another_clinic(api, other_clinic):
    response = api.post("/api/exports/", {"what": "queue", "start": "2026-01-01",
                                          "end": "2026-01-02", "clinic": other_clinic.pk},
                        format="json")

    assert response.status_code == 400 and "clinic" in response.json()
