"""Speed at scale: the queue, the patient's page and the dashboard cost a fixed number of queries.

Each page is measured with 1 row and with 30 under the same ceiling, and the
two counts must be equal: a query per row would show up as a difference.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from followups.models import ClusterSignal
from patients.models import Patient
from tests.admin.builders import answer, flag_patient, jpeg_upload
from tests.factories import PatientFactory, ProductFactory, session_with_checkins

pytestmark = pytest.mark.django_db

QUEUE = "/admin/followups/escalation/"
DASHBOARD = "/admin/"
QUEUE_CEILING = 13
PATIENT_PAGE_CEILING = 20
# 14, and one more since the 30-day chart: its counts come in one UNION ALL statement.
# 15, and one more for the webhooks turned off (followups.webhooks).
# Then 8 more: the "Call now" list (1) and the desk's figures (7 aggregates);
# one more for the "Call instead" list (its first rows, with patient and check-in);
# one more since "Call now" reads the call-backs due, then the other flags, each from
# an index, instead of sorting every unresolved flag.
DASHBOARD_CEILING = 26


def add_flagged(clinic, practitioner, count: int, start: int = 0) -> None:
    product = ProductFactory(name="Query serum")
    for index in range(start, start + count):
        flag_patient(clinic, practitioner, index=index, products=[
            {"product": product, "phase": "post", "lot_number": f"Q-{index}"}])


def add_sessions(patient, practitioner, count: int) -> None:
    product = ProductFactory(name="Query numbing", ingredients=["lidocaine"])
    for index in range(count):
        # Eight days ago: day 2 and day 7 have fallen due, so both take answers.
        session = session_with_checkins(
            patient=patient, practitioner=practitioner,
            performed_at=timezone.now() - timedelta(days=8, minutes=index),
            products=[{"product": product, "phase": "pre", "lot_number": f"P-{index}"}])
        answer(session.checkins.get(day=2), fever=True, photo=jpeg_upload())
        answer(session.checkins.get(day=7), rash="moderate", rash_trend="worse")


def add_clusters(clinic, practitioner, count: int, start: int = 0) -> None:
    now = timezone.now()
    product = ProductFactory(name="Cluster serum")
    for index in range(start, start + count):
        signal = ClusterSignal.objects.create(
            clinic=clinic, kind=ClusterSignal.Kind.PRODUCT_LOT, key=f"lot:{index}",
            product=product, lot_number=f"C-{index}", reason_codes=["ALLERGY"],
            created_at=now, updated_at=now,
        )
        signal.patients.set([PatientFactory(clinic=clinic) for _ in range(3)])


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("rows", [1, 30])
def test_it_opens_the_queue_in_a_fixed_number_of_queries(rows, staff_client, clinic, staff,
                                                 django_assert_max_num_queries):
    add_flagged(clinic, staff, rows)

    with django_assert_max_num_queries(QUEUE_CEILING):
        response = staff_client.get(QUEUE)

    assert len(response.context["cl"].result_list) == rows


def test_it_opens_the_queue_with_the_same_queries_for_1_or_30_rows(staff_client, clinic, staff):
    add_flagged(clinic, staff, 1)
    one = count_queries(staff_client, QUEUE)
    add_flagged(clinic, staff, 29, start=1)

    assert count_queries(staff_client, QUEUE) == one


@pytest.mark.parametrize("rows", [1, 30])
def test_it_opens_the_patient_page_in_a_fixed_number_of_queries(rows, staff_client, patient, staff,
                                                        django_assert_max_num_queries):
    add_sessions(patient, staff, rows)
    page = reverse("admin:patients_patient_change", args=[patient.pk])
    # Django's content-type cache is per process: warm it, as any request
    # before this one would have, so the count does not depend on test order.
    ContentType.objects.get_for_model(Patient)

    with django_assert_max_num_queries(PATIENT_PAGE_CEILING):
        response = staff_client.get(page)

    assert len(response.context["timeline"]) == rows
    assert response.content.decode().count("<svg") >= rows


def test_it_opens_the_patient_page_with_the_same_queries_for_1_or_30_sessions(staff_client, patient,
                                                                   staff):
    page = reverse("admin:patients_patient_change", args=[patient.pk])
    add_sessions(patient, staff, 1)
    one = count_queries(staff_client, page)
    add_sessions(patient, staff, 29)

    assert count_queries(staff_client, page) == one


@pytest.mark.parametrize("rows", [1, 30])
def test_it_opens_the_dashboard_in_a_fixed_number_of_queries(rows, staff_client, clinic, staff,
                                                     django_assert_max_num_queries):
    add_flagged(clinic, staff, rows)
    add_clusters(clinic, staff, rows)

    with django_assert_max_num_queries(DASHBOARD_CEILING):
        response = staff_client.get(DASHBOARD)

    assert response.context["dashboard"].clusters


def test_it_opens_the_dashboard_with_the_same_queries_for_1_or_30_rows(staff_client, clinic, staff):
    add_flagged(clinic, staff, 1)
    add_clusters(clinic, staff, 1)
    one = count_queries(staff_client, DASHBOARD)
    add_flagged(clinic, staff, 29, start=1)
    add_clusters(clinic, staff, 29, start=1)

    assert count_queries(staff_client, DASHBOARD) == one


def test_it_never_counts_a_whole_table_for_the_queue(staff_client, clinic, staff):
    """With 100,000 patients every COUNT is bounded: no full-table count on a load."""
    add_flagged(clinic, staff, 2)

    for params in ("", "?status=all", "?q=Flagged1"):
        with CaptureQueriesContext(connection) as context:
            assert staff_client.get(QUEUE + params).status_code == 200
        counts = [q["sql"] for q in context.captured_queries if "COUNT(" in q["sql"].upper()]
        assert counts, "the list should still count, within the cap"
        for sql in counts:
            assert re.search(r"\bLIMIT\b", sql, re.IGNORECASE), sql


def test_it_counts_only_a_few_pages_past_the_page_asked_for(clinic):
    from core.pagination import CappedCountPaginator
    from patients.models import Patient

    for _ in range(8):
        PatientFactory(clinic=clinic)

    class OnePageAhead(CappedCountPaginator):
        pages_ahead = 1

    first = OnePageAhead(Patient.objects.order_by("pk"), 2)  # page 1: counts 2 pages' rows
    assert (first.count, first.count_is_capped, first.num_pages) == (4, True, 2)
    assert len(first.page(2).object_list) == 2

    third = OnePageAhead(Patient.objects.order_by("pk"), 2, page=3)  # page 3: 4 pages' rows
    assert (third.count, third.count_is_capped, third.num_pages) == (8, False, 4)
    assert len(third.page(4).object_list) == 2

    exact = OnePageAhead(Patient.objects.filter(pk__in=Patient.objects.values("pk")[:3]), 2)
    assert (exact.count, exact.count_is_capped) == (3, False)


def test_each_page_further_counts_a_page_further(staff_client, clinic, staff, monkeypatch):
    """A capped list still reaches its last page, ten pages at a time."""
    from core.pagination import CappedCountPaginator
    from followups.desk.admin import EscalationAdmin

    add_flagged(clinic, staff, 7)
    monkeypatch.setattr(CappedCountPaginator, "pages_ahead", 1)
    monkeypatch.setattr(EscalationAdmin, "list_per_page", 2)

    first = staff_client.get(QUEUE)
    assert first.context["cl"].paginator.num_pages == 2
    assert "More than 4 flagged patients" in first.content.decode()
    third = staff_client.get(QUEUE + "?p=3")
    assert third.context["cl"].paginator.num_pages == 4
    last = staff_client.get(QUEUE + "?p=4")
    assert last.context["cl"].paginator.count == 7
    assert "7 flagged patients" in last.content.decode()
    assert len(last.context["cl"].result_list) == 1


def test_it_says_more_than_when_the_count_is_capped(staff_client, clinic, staff, monkeypatch):
    from core.pagination import CappedCountPaginator

    add_flagged(clinic, staff, 3)
    monkeypatch.setattr(CappedCountPaginator, "pages_ahead", 1)
    monkeypatch.setattr("followups.desk.admin.EscalationAdmin.list_per_page", 1)

    body = staff_client.get(QUEUE).content.decode()

    assert "More than 2 flagged patients" in body


def test_a_search_of_patients_lists_the_newest_first_unless_a_column_is_chosen(
        staff_client, clinic):
    older = PatientFactory(clinic=clinic, first_name="Anne", last_name="Martin")
    newer = PatientFactory(clinic=clinic, first_name="Zoe", last_name="Martinez")
    PatientFactory(clinic=clinic, first_name="Paul", last_name="Other")
    url = "/admin/patients/patient/"

    unsearched = list(staff_client.get(url).context["cl"].result_list)
    assert [patient.last_name for patient in unsearched] == ["Martin", "Martinez", "Other"]
    searched = list(staff_client.get(url + "?q=martin").context["cl"].result_list)
    assert searched == [newer, older]
    by_name = list(staff_client.get(url + "?q=martin&o=1").context["cl"].result_list)  # Name
    assert by_name == [older, newer]


def test_a_search_names_the_users_clinics_once(staff_client, clinic, staff):
    """Scoped by the list and again by its search, the condition is written once: a
    repeated one misleads PostgreSQL's estimate of how many rows a clinic has."""
    add_flagged(clinic, staff, 2)

    with CaptureQueriesContext(connection) as context:
        assert staff_client.get("/admin/followups/checkin/?q=Flagged1").status_code == 200

    listed = [q["sql"] for q in context.captured_queries
              if q["sql"].startswith('SELECT "followups_checkin"."id"')]
    assert listed
    for sql in listed:
        assert sql.count('"followups_checkin"."clinic_id" IN') == 1, sql


def test_the_queue_pages_by_sorting_keys_then_reading_the_pages_rows(
        staff_client, clinic, staff, monkeypatch):
    """Its order is computed (a call-back due first): the sort reads keys, not whole rows,
    and every flag appears once, in the queue's order, across the pages."""
    from followups.desk.admin import EscalationAdmin
    from followups.models import Escalation

    add_flagged(clinic, staff, 7)
    monkeypatch.setattr(EscalationAdmin, "list_per_page", 3)
    expected = list(Escalation.objects.order_by("-level_rank", "created_at", "id")
                    .values_list("pk", flat=True))

    shown = []
    for page in (1, 2, 3):
        with CaptureQueriesContext(connection) as context:
            response = staff_client.get(f"{QUEUE}?p={page}")
        shown += [escalation.pk for escalation in response.context["cl"].result_list]
        keys = [q["sql"] for q in context.captured_queries
                if q["sql"].startswith('SELECT "followups_escalation"."id" AS "pk" FROM')
                and "ORDER BY" in q["sql"]]
        assert keys, "the page's keys are read on their own"
    assert shown == expected


def test_a_clinics_open_level_filter_reads_only_its_own_clinics_flags(
        staff_client, clinic, staff, other_clinic, outsider):
    ours = flag_patient(clinic, staff, index=1, level="review")
    flag_patient(other_clinic, outsider, index=2, level="review")

    with CaptureQueriesContext(connection) as context:
        response = staff_client.get("/admin/patients/patient/?open_level=review")

    assert [patient.pk for patient in response.context["cl"].result_list] == [ours.patient_id]
    listed = [q["sql"] for q in context.captured_queries
              if q["sql"].startswith('SELECT "patients_patient"."id"')]
    assert listed and all('U0."clinic_id" IN' in sql for sql in listed), listed
