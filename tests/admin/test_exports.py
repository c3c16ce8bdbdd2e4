"""CSV exports: clinic-scoped, date-ranged, audited, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from followups.desk.exports import csv_safe
from followups.models import AuditEvent
from tests.admin.builders import answer
from tests.factories import PatientFactory, ProductFactory, session_with_checkins

EXPORTS = "/admin/exports/"


@pytest.mark.parametrize(("value", "expected"), [
    ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"),
    ("+44 7700 900000", "'+44 7700 900000"),
    ("-1+1", "'-1+1"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("Fever reported", "Fever reported"),
    (True, "yes"),
    (None, ""),
    (7, "7"),
])
def test_it_neutralises_cells_a_spreadsheet_would_run(value, expected):
    assert csv_safe(value) == expected


def rows(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def period(days_back=30, days_forward=1) -> dict:
    today = timezone.localdate()
    return {"start": (today - timedelta(days=days_back)).isoformat(),
            "end": (today + timedelta(days=days_forward)).isoformat()}


@pytest.mark.django_db
def test_it_exports_the_queue_and_records_it(staff_client, staff, own_world):
    exported = rows(staff_client.post(EXPORTS, {"what": "queue", **period()}))

    assert len(exported) == 3
    first = exported[0]
    assert first["level"] == "urgent" and "FEVER" in first["reason_codes"]
    assert first["patient_email"].endswith("@mail.example")
    [event] = AuditEvent.objects.filter(action="export", actor=staff)
    assert event.clinic == own_world.clinic and "queue" in event.target


@pytest.mark.django_db
def test_it_exports_answers_with_formulas_neutralised(staff_client, staff, clinic):
    patient = PatientFactory(clinic=clinic, first_name="=cmd|' /C calc'!A0")
    session = session_with_checkins(patient=patient, practitioner=staff)
    answer(session.checkins.get(day=2), comments="=HYPERLINK(\"http://evil.example\",\"x\")")

    [row] = rows(staff_client.post(EXPORTS, {"what": "answers", **period()}))

    assert row["comments"].startswith("'=HYPERLINK")
    assert row["patient_name"].startswith("'=cmd")
    assert row["rash"] == "mild" and row["fever"] == "no"


@pytest.fixture
def afternoon_in_london():
    """15:00 UTC, 15:00 in London (GMT): the London clinic's day is the UTC day.

    The exports pick rows by the clinic's local day; the test writes its dates
    in UTC (``period``). From 23:00 UTC in summer, London is on the next day.
    """
    with time_machine.travel(datetime(2026, 3, 10, 15, 0, tzinfo=UTC), tick=False):
        yield


@pytest.mark.django_db
def test_it_exports_only_the_chosen_dates(afternoon_in_london, staff_client, staff, clinic):
    patient = PatientFactory(clinic=clinic)
    session = session_with_checkins(patient=patient, practitioner=staff)
    answer(session.checkins.get(day=2), fever=True)

    before = rows(staff_client.post(EXPORTS, {"what": "queue", **period(60, -20)}))
    during = rows(staff_client.post(EXPORTS, {"what": "queue", **period(1, 0),
                                              "clinic": clinic.pk}))

    assert before == []
    assert len(during) == 1


@pytest.mark.django_db
def test_it_refuses_a_backwards_or_huge_range(staff_client):
    backwards = staff_client.post(EXPORTS, {"what": "queue", **period(-2, -5)})
    huge = staff_client.post(EXPORTS, {"what": "queue", **period(400, 0)})

    assert "before the start date" in backwards.content.decode()
    assert "at most 366 days" in huge.content.decode()
    assert not AuditEvent.objects.filter(action="export").exists()


@pytest.mark.django_db
def test_it_links_the_queue_to_the_export(staff_client):
    page = staff_client.get(reverse("admin:followups_escalation_changelist"))

    assert f'href="{EXPORTS}?what=queue"' in page.content.decode()
    assert staff_client.get(EXPORTS, {"what": "queue"}).status_code == 200


@pytest.mark.django_db
def test_each_row_traces_to_the_session_its_products_lots_and_practitioner(staff_client,
                                                                           afternoon, clinic,
                                                                           staff):
    from followups.escalations.contacts import contact_record
    from tests.admin.builders import flag_patient

    staff.first_name, staff.last_name = "Nora", "Hale"
    staff.save()
    serum = ProductFactory(name="Calm serum")
    escalation = flag_patient(clinic, staff, index=1, products=[
        {"product": serum, "phase": "during", "lot_number": "LOT-7"}])
    escalation.patient.phone = "+447700900001"
    escalation.patient.save()
    contact_record(escalation=escalation, actor=staff, outcome="reached")

    for what in ("queue", "answers"):
        [row] = rows(staff_client.post(EXPORTS, {"what": what, **period()}))
        assert row["products"] == "Calm serum [during, lot LOT-7]", what
        assert row["lot_numbers"] == "LOT-7", what
        assert row["practitioner"] == "Nora Hale", what
        assert row["patient_phone"] == "'+447700900001", what
        assert row["session_performed_at"] == escalation.session.performed_at.isoformat(), what
    [queue_row] = rows(staff_client.post(EXPORTS, {"what": "queue", **period()}))
    assert queue_row["calls"] == "1" and queue_row["assigned_to"] == staff.username


@pytest.mark.django_db
def test_a_phone_stored_before_numbers_were_normalised_is_still_exported_as_e164(
        staff_client, afternoon, clinic, staff):
    from patients.models import Patient
    from tests.admin.builders import flag_patient

    saved = flag_patient(clinic, staff, index=1).patient
    saved.phone = "07400 123456"  # as dialled in the clinic's country (GB)
    saved.full_clean()
    saved.save()
    legacy = flag_patient(clinic, staff, index=2).patient
    Patient.objects.filter(pk=legacy.pk).update(phone="+44 7400 123457")

    phones = {row["patient_name"]: row["patient_phone"]
              for row in rows(staff_client.post(EXPORTS, {"what": "queue", **period()}))}

    assert phones == {"Flagged1 Patient001": "'+447400123456",
                      "Flagged2 Patient002": "'+447400123457"}


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["queue", "answers"])
def test_an_export_reads_its_rows_by_the_chunk_never_a_statement_per_row(
        staff_client, afternoon, clinic, staff, monkeypatch, what):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from followups.desk import exports
    from tests.admin.builders import flag_patient

    monkeypatch.setattr(exports, "EXPORT_CHUNK_ROWS", 2)

    def exported() -> tuple[list[dict], int]:
        with CaptureQueriesContext(connection) as captured:
            read = rows(staff_client.post(EXPORTS, {"what": what, **period()}))
        return read, len(captured)

    serum, cream = ProductFactory(name="Calm serum"), ProductFactory(name="Numbing cream")
    flag_patient(clinic, staff, index=1, products=[
        {"product": cream, "phase": "pre", "lot_number": "NC-9"},
        {"product": serum, "phase": "post", "lot_number": "LOT-2"}])
    flag_patient(clinic, staff, index=2)
    two, two_statements = exported()
    for index in range(3, 7):
        flag_patient(clinic, staff, index=index, products=[
            {"product": serum, "phase": "during", "lot_number": f"LOT-{index}"}])
    six, six_statements = exported()

    assert len(two) == 2 and len(six) == 6
    # Two more chunks of rows: one more read each, of their sessions' products.
    assert six_statements - two_statements == 2
    by_name = {row["patient_name"]: row for row in six}
    assert by_name["Flagged1 Patient001"]["products"] == (
        "Numbing cream [pre, lot NC-9]; Calm serum [post, lot LOT-2]")
    assert by_name["Flagged1 Patient001"]["lot_numbers"] == "LOT-2 NC-9"
    assert by_name["Flagged2 Patient002"]["products"] == ""
    assert by_name["Flagged6 Patient006"]["lot_numbers"] == "LOT-6"


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["queue", "answers"])
def test_the_codebook_names_every_column_of_its_export_in_order(staff_client, what):
    from followups.desk.exports import COLUMNS

    response = staff_client.get(f"{EXPORTS}?codebook={what}")

    assert response.status_code == 200
    book = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [line["column"] for line in book] == [column.name for column in COLUMNS[what]]
    assert all(line["meaning"] and line["values"] for line in book)
    page = staff_client.get(EXPORTS).content.decode()
    assert f"?codebook={what}" in page and "<code>lot_numbers</code>" in page


@pytest.mark.django_db
def test_an_unknown_codebook_is_a_400(staff_client):
    assert staff_client.get(f"{EXPORTS}?codebook=patients").status_code == 400


# Exports of any size: a worker writes the large ones ------------------------------------


@pytest.mark.django_db
def test_a_network_wide_export_is_written_by_a_worker_and_fetched_when_ready(
        superuser_client, superuser, own_world, staff,
        django_capture_on_commit_callbacks):
    from followups.desk.exports import EXPORT_STREAM_MAX_CLINIC_DAYS, export_build
    from followups.models import Export
    from tests.factories import ClinicFactory
    from tests.support.otp import VerifiedClient

    clinics = 1 + len([ClinicFactory() for _ in range(13)])
    days = EXPORT_STREAM_MAX_CLINIC_DAYS // clinics + 1
    with django_capture_on_commit_callbacks(execute=True) as enqueued:
        asked = superuser_client.post(EXPORTS, {"what": "queue", **period(days, 0)})

    [export] = Export.objects.all()
    assert asked.status_code == 302 and asked["Location"] == f"/admin/exports/{export.pk}/"
    assert len(enqueued) == 1
    waiting = superuser_client.get(asked["Location"]).content.decode()
    assert "Being prepared" in waiting and 'http-equiv="refresh"' in waiting
    # One audit row per clinic covered, written at once.
    assert AuditEvent.objects.filter(action="export", actor=superuser).count() == clinics

    assert export_build(export_id=export.pk).rows == 3  # what the worker runs
    assert export_build(export_id=export.pk) is None  # a re-delivery does nothing

    ready = superuser_client.get(asked["Location"]).content.decode()
    assert "Ready: 3 rows" in ready and 'http-equiv="refresh"' not in ready
    export.refresh_from_db()
    assert export.file.name.startswith("exports/") and "queue" not in export.file.name
    download = superuser_client.get(f"/admin/exports/{export.pk}/download/")
    assert download.status_code == 200
    assert "private" in download["Cache-Control"] and "no-store" in download["Cache-Control"]
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert lines[0].startswith("escalation_id,") and len(lines) == 4
    # Only the staff member who asked may see it.
    staff_client = VerifiedClient()
    staff_client.force_login(staff)
    assert staff_client.get(f"/admin/exports/{export.pk}/").status_code == 404
    assert staff_client.get(f"/admin/exports/{export.pk}/download/").status_code == 404


@pytest.mark.django_db
def test_a_small_export_still_streams(staff_client, own_world):
    from followups.models import Export

    response = staff_client.post(EXPORTS, {"what": "answers", **period(30)})

    assert response.status_code == 200 and response.streaming
    assert not Export.objects.exists()
