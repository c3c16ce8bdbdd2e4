"""Browser sessions end: a working day after sign-in, and after 30 minutes idle."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_it_keeps_a_busy_session_going_within_the_day(client, superuser):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(superuser)
    for minutes in (20, 40, 60, 80):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/admin/").status_code == 200


def test_it_ends_a_session_left_idle_for_half_an_hour(client, superuser):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(superuser)
        assert client.get("/admin/").status_code == 200

    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        response = client.get("/admin/")

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_it_ends_a_session_a_working_day_after_sign_in_however_busy(client, superuser):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(superuser)
    for minutes in range(20, 10 * 60, 20):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            client.get("/admin/")

    with time_machine.travel(start + timedelta(hours=10, minutes=1), tick=False):
        response = client.get("/admin/")

    assert response.status_code == 302


def test_it_documents_its_session_settings():
    assert settings.SESSION_COOKIE_AGE == 10 * 3600
    assert settings.SESSION_IDLE_TIMEOUT == 30 * 60
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
