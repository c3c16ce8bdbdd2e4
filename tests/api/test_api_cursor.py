"""The lists that grow without bound page with a cursor: every row once, at any depth."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.pagination import KeysetCursorPagination
from followups.models import CheckIn
from tests.factories import PatientFactory, session_with_checkins

pytestmark = pytest.mark.django_db


@pytest.fixture
def checkins(patient, staff):
    # Sessions performed at one instant: their check-ins share due_at, so a
    # page boundary falls inside a run of equal times (where DRF's own cursor
    # would skip by OFFSET).
    performed_at = timezone.now() - timedelta(days=3)
    for _ in range(5):
        session_with_checkins(patient=PatientFactory(clinic=patient.clinic), practitioner=staff,
                              performed_at=performed_at)
    return list(CheckIn.objects.filter(clinic=patient.clinic).order_by("due_at", "id")
                .values_list("pk", flat=True))


def walk(api, url, link="next"):
    pages = []
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert "count" not in body
        pages.append([row["id"] for row in body["results"]])
        url = body[link]
    return pages


def test_it_returns_every_checkin_once_in_order_following_next(api, checkins, monkeypatch):
    monkeypatch.setattr(KeysetCursorPagination, "page_size", 3)

    pages = walk(api, "/api/checkins/")

    assert [pk for page in pages for pk in page] == checkins
    assert [len(page) for page in pages] == [3, 3, 3, 1]


def test_it_walks_back_with_previous(api, checkins, monkeypatch):
    monkeypatch.setattr(KeysetCursorPagination, "page_size", 3)
    url = "/api/checkins/"
    while True:
        body = api.get(url).json()
        if not body["next"]:
            break
        url = body["next"]
    assert body["previous"]

    pages = walk(api, body["previous"], link="previous")

    assert [pk for page in reversed(pages) for pk in page] == checkins[:-1]


def test_it_refuses_a_cursor_it_did_not_write(api, checkins):
    for cursor in ("not-base64!", "e30=", "WzEsMl0="):  # junk, {}, [1,2]
        response = api.get("/api/checkins/", {"cursor": cursor})
        assert response.status_code == 404, cursor


def test_it_reads_a_deep_page_in_the_queries_of_the_first(api, checkins, monkeypatch,
                                                          django_assert_num_queries):
    monkeypatch.setattr(KeysetCursorPagination, "page_size", 2)
    first = api.get("/api/checkins/")
    deep = first.json()["next"]
    for _ in range(3):
        deep = api.get(deep).json()["next"]

    with django_assert_num_queries(_queries(api, "/api/checkins/")):
        response = api.get(deep)

    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def _queries(api, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        api.get(url)
    return len(captured.captured_queries)


def test_it_pages_the_queue_by_level_then_age(api, patient, staff, monkeypatch):
    from tests.factories import response_for

    for pus in (True, False, True, False):
        session = session_with_checkins(patient=PatientFactory(clinic=patient.clinic),
                                        practitioner=staff)
        response_for(session.checkins.get(day=2), pus=pus, rash="severe")
    monkeypatch.setattr(KeysetCursorPagination, "page_size", 1)

    pages = walk(api, "/api/escalations/")

    listed = [pk for page in pages for pk in page]
    from followups.models import Escalation
    assert listed == list(Escalation.objects.filter(clinic=patient.clinic)
                          .order_by("-level_rank", "created_at", "id")
                          .values_list("pk", flat=True))
    assert len(listed) == 4
