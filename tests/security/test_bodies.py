"""The patient's link reads no body it will refuse: budget, link shape and size come first."""

from __future__ import annotations

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
