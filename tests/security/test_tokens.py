"""API tokens with a lifecycle (django-rest-knox): hashed, expiring, revocable, and dead with
the password, the account or the clinic membership that earned them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken
from rest_framework.test import APIClient

from patients.models import ClinicMembership
from tests.support.otp import authenticator_for, code_for

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def issue(user) -> dict:
    response = APIClient().post("/api/auth/token/", {
        "username": user.username, "password": PASSWORD,
        "otp_token": code_for(authenticator_for(user)),
    }, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def holder(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_it_stores_only_a_hash_of_the_token(staff):
    token = issue(staff)["token"]

    stored = AuthToken.objects.get(user=staff)
    assert token not in stored.digest
    assert stored.digest != token and len(stored.digest) == 128
    assert holder(token).get("/api/patients/").status_code == 200


def test_it_returns_the_expiry_a_working_day_away(staff):
    before = timezone.now()
    answer = issue(staff)

    expiry = parse_datetime(answer["expiry"])
    assert timedelta(hours=9, minutes=59) < expiry - before <= timedelta(hours=10, minutes=1)


def test_it_refuses_a_token_past_its_expiry(staff):
    token = issue(staff)["token"]

    with time_machine.travel(timezone.now() + timedelta(hours=10, minutes=1)):
        assert holder(token).get("/api/patients/").status_code == 401


def test_it_revokes_the_token_it_is_sent_with_on_logout(staff):
    kept = issue(staff)["token"]
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):  # the next code
        revoked = issue(staff)["token"]

    response = holder(revoked).post("/api/auth/logout/")

    assert response.status_code == 204
    assert holder(revoked).get("/api/patients/").status_code == 401
    assert holder(kept).get("/api/patients/").status_code == 200


def test_it_refuses_a_logout_without_a_token():
    assert APIClient().post("/api/auth/logout/").status_code == 401


def test_it_kills_tokens_when_the_password_changes(staff):
    token = issue(staff)["token"]

    staff.set_password("a brand new passphrase 42")
    staff.save()

    assert holder(token).get("/api/patients/").status_code == 401


def test_it_kills_tokens_when_the_user_is_deactivated(staff):
    token = issue(staff)["token"]

    staff.is_active = False
    staff.save(update_fields=["is_active"])
    staff.is_active = True
    staff.save(update_fields=["is_active"])  # reactivated later: the token stays dead

    assert holder(token).get("/api/patients/").status_code == 401


def test_it_kills_tokens_when_the_user_belongs_to_no_clinic_any_more(staff, clinic):
    token = issue(staff)["token"]

    ClinicMembership.objects.filter(user=staff).delete()

    assert holder(token).get("/api/patients/").status_code == 401
    ClinicMembership.objects.create(user=staff, clinic=clinic)
    assert holder(token).get("/api/patients/").status_code == 401


def test_it_kills_a_token_whose_membership_vanished_without_a_signal(staff, clinic):
    token = issue(staff)["token"]
    ClinicMembership.objects.filter(user=staff)._raw_delete(ClinicMembership.objects.db)

    assert holder(token).get("/api/patients/").status_code == 401
    assert not AuthToken.objects.filter(user=staff).exists()


def test_it_issues_no_token_past_the_per_user_limit(staff, settings):
    limit = settings.REST_KNOX["TOKEN_LIMIT_PER_USER"]
    assert limit is not None
    for _ in range(limit):
        AuthToken.objects.create(user=staff)

    response = APIClient().post("/api/auth/token/", {
        "username": staff.username, "password": PASSWORD,
        "otp_token": code_for(authenticator_for(staff)),
    }, format="json")

    assert response.status_code == 403
    assert f"at most {limit}" in response.json()["detail"]
    assert AuthToken.objects.filter(user=staff).count() == limit


def test_it_counts_only_live_tokens_against_the_limit(staff, settings):
    limit = settings.REST_KNOX["TOKEN_LIMIT_PER_USER"]
    for _ in range(limit):
        AuthToken.objects.create(user=staff, expiry=timedelta(hours=1))

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        answer = issue(staff)

    assert answer["token"]
