"""The patient's link reads no body it will refuse: budget, link shape and size come first."""

from __future__ import annotations

import http.client
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.util import is_hop_by_hop
from wsgiref.validate import validator

import pytest
from django.test import Client

from tests.followups.link.test_patient_form import FORM_ANSWERS, link_url, sent_checkin_with_link

pytestmark = pytest.mark.django_db

MADE_UP = "A" * 43


class ExplodingBody:
    """A request body that fails the test if anyone reads it."""

    def read(self, *args, **kwargs):
        raise AssertionError("the body was read")

    readline = read


def post_without_reading(path: str, *, length: int, address: str = "192.0.2.10"):
    client = Client(REMOTE_ADDR=address)
    return client.generic("POST", path, b"", content_type="multipart/form-data; boundary=x",
                          CONTENT_LENGTH=str(length), **{"wsgi.input": ExplodingBody()})


def test_it_refuses_a_body_over_the_limit_with_413_before_reading_it(patient, settings):
    _, token = sent_checkin_with_link(patient)

    response = post_without_reading(link_url(token), length=200 * 1024 * 1024)

    assert response.status_code == 413
    assert response["Cache-Control"] == "no-store"
    assert "too large" in response.content.decode()


def test_it_refuses_a_large_body_to_a_made_up_link_unread(db):
    assert post_without_reading(link_url(MADE_UP), length=200 * 1024 * 1024).status_code == 413


def test_it_answers_a_link_of_the_wrong_shape_without_reading_the_body(db):
    response = post_without_reading("/c/not-a-token!/", length=1000)

    assert response.status_code == 404


def test_it_answers_a_spent_budget_before_reading_the_body(db, settings, one_rate_limit_window):
    settings.PATIENT_LINK_RATE_LIMIT = (2, 60)
    for _ in range(2):
        Client(REMOTE_ADDR="192.0.2.77").get(link_url(MADE_UP))

    response = post_without_reading(link_url(MADE_UP), length=1000, address="192.0.2.77")

    assert response.status_code == 429


def test_it_still_takes_a_photo_within_the_limit(patient, settings):
    settings.PATIENT_LINK_RATE_LIMIT = (100, 60)
    _, token = sent_checkin_with_link(patient)

    response = Client().post(link_url(token), FORM_ANSWERS)

    assert response.status_code == 200
    assert settings.PATIENT_LINK_MAX_BODY > settings.PHOTO_MAX_BYTES


def test_it_sets_no_hop_by_hop_header_on_the_413(db):
    response = post_without_reading(link_url(MADE_UP), length=200 * 1024 * 1024)

    assert response.status_code == 413
    assert [name for name in response.headers if is_hop_by_hop(name)] == []


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # the request line holds a link
        pass


def test_it_answers_an_oversize_body_with_413_under_the_stdlib_wsgi_server(db):
    """wsgiref's server and its validator refuse what PEP 3333 forbids, as runserver does."""
    from django.core.wsgi import get_wsgi_application

    server = make_server("127.0.0.1", 0, validator(get_wsgi_application()),
                         handler_class=_QuietHandler)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.putrequest("POST", link_url(MADE_UP))
        connection.putheader("Content-Type", "multipart/form-data; boundary=x")
        connection.putheader("Content-Length", str(200 * 1024 * 1024))
        connection.endheaders()  # and not a byte of the body
        response = connection.getresponse()
        body = response.read().decode()
        connection.close()
    finally:
        thread.join(timeout=10)
        server.server_close()

    assert response.status == 413, body
    assert "too large" in body


def test_the_413_page_is_in_the_patients_language_with_their_clinics_phone(patient, settings):
    patient.language = "es"
    patient.save()
    patient.clinic.phone = "+34911234567"
    patient.clinic.save()
    _, token = sent_checkin_with_link(patient)

    response = post_without_reading(link_url(token), length=200 * 1024 * 1024)

    body = response.content.decode()
    assert response.status_code == 413
    assert response["Content-Language"] == "es" and '<html lang="es">' in body
    assert "Esta foto es demasiado grande" in body
    assert 'href="tel:+34911234567"' in body and patient.clinic.name in body
    assert token not in body  # "back" is the page's own address, never the token
