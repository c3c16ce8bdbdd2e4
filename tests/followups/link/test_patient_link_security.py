"""The patient's link as a credential: one use, rate limits, CSRF, headers, logs."""

from __future__ import annotations

import io
import logging
import re
import threading
import uuid

import pytest
from django.db import connection
from django.test import Client

from followups.models import CheckIn, CheckInResponse
from tests.followups.link.test_patient_form import FORM_ANSWERS, link_url, sent_checkin_with_link

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def generous_rate_limit(settings):
    settings.PATIENT_LINK_RATE_LIMIT = (100_000, 60)


@pytest.fixture
def sent(patient):
    return sent_checkin_with_link(patient)


def fresh_address() -> str:
    # A documentation address no other test (or earlier run sharing a Redis) used.
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


# One use, even under a race ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_stores_exactly_one_of_two_racing_submissions(require_postgres, patient):
    checkin, token = sent_checkin_with_link(patient)
    start = threading.Barrier(2)
    results: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def submit(answers):
        try:
            client = Client()
            start.wait(timeout=10)
            response = client.post(link_url(token), answers)
            results.append((response.status_code, response.content.decode()))
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=submit, args=({**FORM_ANSWERS, "comments": f"thread {n}"},))
        for n in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    statuses = sorted(status for status, _html in results)
    assert statuses == [200, 404]
    guidance = [html for status, html in results if status == 200]
    neutral = [html for status, html in results if status == 404]
    # Calm answers with a comment: its guidance, and a person will read the comment.
    assert "A member of your clinic will read your message" in guidance[0]
    assert "This link is not available" in neutral[0]
    assert CheckInResponse.objects.filter(checkin=checkin).count() == 1
    checkin.refresh_from_db()
    assert checkin.status == CheckIn.Status.COMPLETED


# Rate limit ---------------------------------------------------------------------------


@pytest.fixture
def sent_in_one_window(one_rate_limit_window, patient):
    """A sent check-in and its link, with the clock stopped (tests/conftest.py) before it."""
    return sent_checkin_with_link(patient)


def test_it_refuses_an_address_over_its_budget_with_429(settings, sent_in_one_window):
    settings.PATIENT_LINK_RATE_LIMIT = (3, 60)
    client = Client(REMOTE_ADDR=fresh_address())
    _checkin, token = sent_in_one_window

    statuses = [client.get(link_url(token)).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    limited = client.get(link_url(token))
    assert limited.status_code == 429
    assert limited["Retry-After"] == "60"
    assert b"Too many attempts" in limited.content
    assert limited["Cache-Control"] == "no-store"


def test_it_counts_unknown_tokens_against_the_budget(settings, one_rate_limit_window):
    settings.PATIENT_LINK_RATE_LIMIT = (2, 60)
    client = Client(REMOTE_ADDR=fresh_address())

    statuses = [client.get(link_url(f"guess{n:040d}")).status_code for n in range(3)]

    assert statuses == [404, 404, 429]


def test_it_ignores_x_forwarded_for_when_counting(settings, sent_in_one_window):
    settings.PATIENT_LINK_RATE_LIMIT = (2, 60)
    address = fresh_address()
    _checkin, token = sent_in_one_window

    statuses = [
        Client(REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        .get(link_url(token)).status_code
        for n in range(3)
    ]

    assert statuses == [200, 200, 429]


def test_it_keeps_each_address_budget_separate(settings, sent_in_one_window):
    settings.PATIENT_LINK_RATE_LIMIT = (1, 60)
    first, second = Client(REMOTE_ADDR=fresh_address()), Client(REMOTE_ADDR=fresh_address())
    _checkin, token = sent_in_one_window

    assert first.get(link_url(token)).status_code == 200
    assert first.get(link_url(token)).status_code == 429
    assert second.get(link_url(token)).status_code == 200


def test_it_fails_open_with_a_warning_when_the_cache_is_down(settings, sent, caplog):
    # A Redis nobody listens on: every cache call raises a connection error.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.PATIENT_LINK_RATE_LIMIT = (1, 60)

    with caplog.at_level(logging.WARNING, logger="followups.link.ratelimit"):
        statuses = [Client().get(link_url(sent[1])).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    warnings = [r for r in caplog.records if r.name == "followups.link.ratelimit"]
    assert warnings and "cache unavailable" in warnings[0].getMessage()


# CSRF -------------------------------------------------------------------------------


def test_it_refuses_a_post_without_the_csrf_token(sent):
    checkin, token = sent
    client = Client(enforce_csrf_checks=True)
    client.get(link_url(token))  # has the cookie, but the form field is missing

    response = client.post(link_url(token), FORM_ANSWERS)

    assert response.status_code == 403
    assert not CheckInResponse.objects.exists()
    checkin.refresh_from_db()
    assert checkin.status == CheckIn.Status.SENT


def test_it_accepts_a_post_carrying_the_csrf_token_from_the_form(sent):
    checkin, token = sent
    client = Client(enforce_csrf_checks=True)
    html = client.get(link_url(token)).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    response = client.post(link_url(token), {**FORM_ANSWERS, "csrfmiddlewaretoken": csrf},
                           HTTP_ORIGIN="http://testserver")

    assert response.status_code == 200
    assert CheckInResponse.objects.filter(checkin=checkin).count() == 1


# Headers and page content -----------------------------------------------------------


def _assert_private_headers(response):
    assert response["Cache-Control"] == "no-store"
    assert response["X-Robots-Tag"].startswith("noindex")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "http" not in csp  # no other host allowed for anything
    html = response.content.decode()
    assert "<script" not in html
    assert not re.search(r'(?:src|href|action)\s*=\s*["\']?\s*(?:https?:)?//', html, re.I)
    assert "@import" not in html and "url(" not in html


def test_it_sends_private_headers_with_the_form(client, sent):
    response = client.get(link_url(sent[1]))

    _assert_private_headers(response)
    assert response["Referrer-Policy"] == "no-referrer"


def test_it_accepts_the_form_posted_with_a_null_origin_and_no_referer(sent):
    # What a browser sends from a no-referrer page: the CSRF cookie and token
    # still have to match, the Origin and Referer are not compared.
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(link_url(sent[1]))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]

    response = browser.post(link_url(sent[1]), {**FORM_ANSWERS, "csrfmiddlewaretoken": token},
                            HTTP_ORIGIN="null", secure=True)

    assert response.status_code == 200
    assert CheckInResponse.objects.count() == 1


def test_it_refuses_a_null_origin_post_without_the_csrf_token(sent):
    browser = Client(enforce_csrf_checks=True)
    browser.get(link_url(sent[1]))

    response = browser.post(link_url(sent[1]), FORM_ANSWERS, HTTP_ORIGIN="null", secure=True)

    assert response.status_code == 403
    assert CheckInResponse.objects.count() == 0


def test_it_sends_private_headers_with_the_guidance_and_the_neutral_page(client, sent):
    guidance = client.post(link_url(sent[1]), FORM_ANSWERS)
    neutral = client.get(link_url(sent[1]))

    for response in (guidance, neutral):
        _assert_private_headers(response)
        assert response["Referrer-Policy"] == "no-referrer"


def test_it_sends_private_headers_when_reshowing_an_invalid_form(client, sent):
    response = client.post(link_url(sent[1]), {})

    assert response.status_code == 200
    _assert_private_headers(response)


def test_it_never_shows_the_token_on_the_page(client, sent):
    _checkin, token = sent

    form = client.get(link_url(token))
    guidance = client.post(link_url(token), FORM_ANSWERS)

    assert token not in form.content.decode()
    assert token not in guidance.content.decode()


# Logs ----------------------------------------------------------------------------


@pytest.fixture
def configured_log_output():
    """What the project's configured log handlers write, with their filters."""
    buffer = io.StringIO()
    handlers = {
        handler
        for name in ("", "django.request", "django.server", "followups")
        for handler in logging.getLogger(name).handlers
        if isinstance(handler, logging.StreamHandler) and handler.filters
    }
    assert handlers, "the LOGGING setting's console handler is not installed"
    old_streams = {handler: handler.setStream(buffer) for handler in handlers}
    yield buffer
    for handler, stream in old_streams.items():
        handler.setStream(stream)


def test_it_never_logs_the_token(client, sent, caplog, configured_log_output):
    checkin, token = sent
    caplog.set_level(logging.DEBUG)

    client.get(link_url(token))
    Client(enforce_csrf_checks=True).post(link_url(token), FORM_ANSWERS)  # CSRF: 403, logged
    client.post(link_url(token), {})  # invalid: re-shown
    client.post(link_url(token), FORM_ANSWERS)
    client.get(link_url(token))  # used: a 404 that django.request logs

    written = configured_log_output.getvalue()
    assert "/c/[redacted]" in written  # the 404 was logged, without its token
    assert token not in written
    for record in caplog.records:
        assert token not in record.getMessage()
