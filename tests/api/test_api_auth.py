"""Who may call the API: a token, a browser session, or nobody.

The interface: ``POST /api/auth/token/`` with a username, password and the
authenticator's code gives a token sent as ``Authorization: Token <token>``;
browser sessions (signed in with their second factor) work too. Only staff who
belong to a clinic (or a superuser) get in. The token's lifecycle, the lockout
and the second factor itself are tried in tests/security.
"""

from __future__ import annotations

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.support.otp import authenticator_for, code_for, mark_verified

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's
# What a browser holds after any page: the csrftoken cookie, echoed in a header.
CSRF_SECRET = "abcdefghijklmnopqrstuvwxyzABCDEF"
ENDPOINTS = ["/api/clinics/", "/api/patients/", "/api/products/", "/api/sessions/",
             "/api/checkins/", "/api/escalations/"]


def signed_in_browser(client: APIClient, user) -> APIClient:
    """A browser that signed in with the password and the authenticator's code."""
    client.force_login(user)
    mark_verified(client, user)
    return client


def test_it_issues_a_token_for_a_staff_members_password(staff):
    code = code_for(authenticator_for(staff))
    response = APIClient().post("/api/auth/token/",
                                {"username": "nurse", "password": PASSWORD, "otp_token": code},
                                format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"token", "expiry", "user"}
    assert response.json()["user"] == {"id": staff.pk, "username": "nurse"}
    assert AuthToken.objects.get(user=staff).token_key == response.json()["token"][:15]


def test_it_lets_a_token_holder_in_with_the_token_header(staff, patient):
    token = APIClient().post("/api/auth/token/", {
        "username": "nurse", "password": PASSWORD,
        "otp_token": code_for(authenticator_for(staff)),
    }, format="json").json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = client.get("/api/patients/")

    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [patient.pk]


def test_it_accepts_the_form_encoded_token_request_too(staff):
    response = APIClient().post("/api/auth/token/", {
        "username": "nurse", "password": PASSWORD,
        "otp_token": code_for(authenticator_for(staff)),
    })

    assert response.status_code == 200
    assert "token" in response.json()


@pytest.mark.parametrize("credentials", [
    {"username": "nurse", "password": "wrong"},
    {"username": "nobody", "password": PASSWORD},
    {"username": "nurse"},
    {},
])
def test_it_refuses_a_token_for_bad_credentials(staff, credentials):
    response = APIClient().post("/api/auth/token/", credentials, format="json")

    assert response.status_code == 400
    assert "token" not in response.json()


def test_it_refuses_a_token_to_a_deactivated_user(staff):
    staff.is_active = False
    staff.save()

    response = APIClient().post("/api/auth/token/", {"username": "nurse", "password": PASSWORD},
                                format="json")

    assert response.status_code == 400


def test_it_says_401_for_an_unknown_token(staff):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    assert client.get("/api/patients/").status_code == 401


def test_it_shuts_out_a_token_whose_user_was_deactivated(staff):
    _, token = AuthToken.objects.create(user=staff)
    staff.is_active = False
    staff.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert client.get("/api/patients/").status_code == 401


def test_it_answers_a_malformed_token_request_with_400(staff):
    response = APIClient().post("/api/auth/token/", '{"username": "nurse",',
                                content_type="application/json")

    assert response.status_code == 400


def test_it_works_with_a_browser_session(staff, patient):
    client = signed_in_browser(APIClient(), staff)

    response = client.get("/api/patients/")

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_it_requires_the_csrf_token_for_a_browser_sessions_writes(staff, clinic):
    client = signed_in_browser(APIClient(enforce_csrf_checks=True), staff)
    payload = {"clinic": clinic.pk, "first_name": "Ines", "last_name": "Duarte",
               "email": "ines@mail.example"}

    refused = client.post("/api/patients/", payload, format="json")
    client.cookies["csrftoken"] = CSRF_SECRET
    accepted = client.post("/api/patients/", payload, format="json",
                           HTTP_X_CSRFTOKEN=CSRF_SECRET)

    assert refused.status_code == 403
    assert accepted.status_code == 201, accepted.json()


@pytest.mark.parametrize("url", ENDPOINTS)
def test_it_asks_an_anonymous_caller_to_sign_in(url, patient):
    response = APIClient().get(url)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("url", ENDPOINTS)
def test_it_refuses_an_anonymous_write(url, clinic):
    assert APIClient().post(url, {}, format="json").status_code in (401, 405)


@pytest.mark.parametrize("url", ENDPOINTS)
def test_it_refuses_a_user_who_belongs_to_no_clinic(url, patient):
    client = APIClient()
    client.force_authenticate(UserFactory(username="drifter"))

    response = client.get(url)

    assert response.status_code == 403


def test_it_lets_a_superuser_see_every_clinic(superuser, clinic, other_clinic):
    client = APIClient()
    client.force_authenticate(superuser)

    response = client.get("/api/clinics/")

    assert response.status_code == 200
    assert {c["id"] for c in response.json()["results"]} == {clinic.pk, other_clinic.pk}


def test_it_serves_the_openapi_document_and_its_browser_to_signed_in_staff(staff, client):
    client.force_login(staff)

    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")
    script = client.get("/api/docs/", {"script": ""})

    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert "/api/checkins/{id}/response/" in schema.json()["paths"]
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content


def test_it_serves_the_openapi_document_to_a_token_holder(staff):
    holder = APIClient()
    holder.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=staff)[1]}")

    schema = holder.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert schema.status_code == 200 and "paths" in schema.json()


def test_it_shows_anonymous_visitors_neither_the_document_nor_its_browser(staff):
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = APIClient().get("/api/docs/")
    script = APIClient().get("/api/docs/?script=")

    assert schema.status_code == 401
    assert b"/api/checkins/" not in schema.content
    # A browser is sent to sign in, and brought back.
    assert docs.status_code == 302
    assert docs["Location"] == "/admin/login/?next=/api/docs/"
    assert script.status_code == 302 and b"SwaggerUIBundle" not in script.content


def test_it_shows_the_document_to_no_one_outside_a_clinic(db):
    client = APIClient()
    client.force_authenticate(UserFactory(username="drifter"))

    assert client.get("/api/schema/").status_code == 403
    assert client.get("/api/docs/").status_code == 403


def test_it_lets_no_proxy_or_browser_keep_the_document(staff, client):
    client.force_login(staff)

    for path in ("/api/schema/", "/api/docs/"):
        assert "no-store" in client.get(path)["Cache-Control"], path
