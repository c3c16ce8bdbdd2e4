"""Repeated failed sign-ins lock the account and the address (django-axes), API and admin alike."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.support.otp import authenticator_for, code_for

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
LOGIN = "/admin/login/?next=/admin/"
LIMIT = 10


def admin_attempt(username="nurse", password=PASSWORD, code="", address="203.0.113.7"):
    return Client(REMOTE_ADDR=address).post(LOGIN, {
        "username": username, "password": password, "otp_token": code, "next": "/admin/"})


def token_attempt(username="nurse", password=PASSWORD, code="", address="203.0.113.7"):
    return APIClient(REMOTE_ADDR=address).post("/api/auth/token/", {
        "username": username, "password": password, "otp_token": code}, format="json")


def test_it_locks_the_admin_sign_in_after_ten_failures_even_with_the_right_password(staff):
    device = authenticator_for(staff)
    failures = [admin_attempt(password="wrong").status_code for _ in range(LIMIT)]

    locked = admin_attempt(code=code_for(device))

    assert set(failures[:LIMIT - 1]) == {200}
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "locked for 15 minutes" in page
    assert "correct horse" not in page
    assert int(locked["Retry-After"]) >= 15 * 60


def test_it_locks_the_token_endpoint_with_a_429(staff):
    device = authenticator_for(staff)
    for _ in range(LIMIT):
        token_attempt(password="wrong")

    locked = token_attempt(code=code_for(device))

    assert locked.status_code == 429
    assert "locked for 15 minutes" in locked.json()["detail"]
    assert "token" not in locked.json()


def test_it_counts_a_wrong_or_missing_code_as_a_failure(staff):
    device = authenticator_for(staff)
    for n in range(LIMIT):
        # The right password every time; the code missing or wrong.
        (admin_attempt if n % 2 else token_attempt)(code="" if n % 3 else "123456")

    assert token_attempt(code=code_for(device)).status_code == 429
    assert admin_attempt(code=code_for(device)).status_code == 429


def test_it_locks_the_address_for_every_account_it_tried(staff, clinic):
    for n in range(LIMIT):
        admin_attempt(username=f"guess{n}", password="wrong")

    assert admin_attempt(code=code_for(authenticator_for(staff))).status_code == 429
    # Another address still signs in.
    assert admin_attempt(code=code_for(authenticator_for(staff)),
                         address="198.51.100.9").status_code == 302


def test_it_locks_the_account_from_every_address(staff):
    for n in range(LIMIT):
        admin_attempt(password="wrong", address=f"198.51.100.{n + 1}")

    assert token_attempt(code=code_for(authenticator_for(staff)),
                         address="192.0.2.55").status_code == 429


def test_it_unlocks_after_the_cool_off(staff):
    device = authenticator_for(staff)
    for _ in range(LIMIT):
        token_attempt(password="wrong")

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = token_attempt(code=code_for(device))

    assert response.status_code == 200


def test_it_unlocks_with_the_operator_command(staff):
    device = authenticator_for(staff)
    for _ in range(LIMIT):
        token_attempt(password="wrong")
    assert token_attempt(code=code_for(device)).status_code == 429

    call_command("axes_reset_username", "nurse")
    call_command("axes_reset_ip", "203.0.113.7")

    assert token_attempt(code=code_for(device)).status_code == 200


def test_it_records_the_attempt_without_the_password_or_code(staff, caplog):
    UserFactory(username="other")
    with caplog.at_level(logging.INFO):
        admin_attempt(password="Sup3r-s3cret-guess", code="654321")

    attempt = AccessAttempt.objects.get()
    stored = " ".join(str(value) for value in attempt.__dict__.values())
    stored += " ".join(str(row.__dict__) for row in AccessFailureLog.objects.all())
    assert attempt.username == "nurse" and attempt.ip_address == "203.0.113.7"
    assert "Sup3r-s3cret-guess" not in stored and "654321" not in stored
    assert "Sup3r-s3cret-guess" not in caplog.text and "654321" not in caplog.text


def test_it_keeps_counting_a_users_failures_when_a_colleague_signs_in_from_their_address(staff,
                                                                                          clinic):
    UserFactory(username="victim3", clinics=[clinic])  # no authenticator yet
    for _ in range(LIMIT - 1):
        admin_attempt(username="victim3", password="wrong")

    colleague = admin_attempt(code=code_for(authenticator_for(staff)))
    admin_attempt(username="victim3", password="wrong")  # the tenth guess

    assert colleague.status_code == 302
    assert AccessAttempt.objects.get(username="victim3").failures_since_start == LIMIT
    # The right password now gets nowhere, from this address or any other.
    assert admin_attempt(username="victim3").status_code == 429
    assert token_attempt(username="victim3", address="198.51.100.20").status_code == 429


def test_it_keeps_counting_an_addresss_failures_when_someone_signs_in_from_it(staff, clinic):
    device = authenticator_for(staff)
    for n in range(LIMIT - 1):
        admin_attempt(username=f"guess{n}", password="wrong")

    colleague = admin_attempt(code=code_for(device))
    admin_attempt(username="guess-last", password="wrong")  # the address's tenth failure

    assert colleague.status_code == 302
    assert admin_attempt(code=code_for(device, at=time.time() + 30)).status_code == 429
    assert admin_attempt(code=code_for(device, at=time.time() + 30),
                         address="198.51.100.9").status_code == 302


def test_it_lets_a_users_own_failures_age_out_rather_than_be_wiped_by_their_sign_in(staff):
    device = authenticator_for(staff)
    for _ in range(3):
        admin_attempt(password="wrong")

    assert admin_attempt(code=code_for(device)).status_code == 302
    assert AccessAttempt.objects.get(username="nurse").failures_since_start == 3
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        admin_attempt(password="wrong")
        assert AccessAttempt.objects.get(username="nurse").failures_since_start == 1
