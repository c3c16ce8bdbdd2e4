"""The API reads no body it will refuse: its size from the headers, its nesting before it is
parsed, each list's length before its items (a session's product is a database lookup).

The attack this answers: 100,000 product entries (4.9 MB) in one POST held a
gunicorn worker until it was killed, and 5,000 nested brackets in
``known_allergies`` were a 500. Each refusal is a 400 naming the field or the
problem.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from core.api_limits import json_nesting_exceeds
from patients.models import Patient, TreatmentSession
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


class ExplodingBody:
    """A request body that fails the test if anyone reads it."""

    def read(self, *args, **kwargs):
        raise AssertionError("the body was read")

    readline = read


@pytest.fixture
def serum(db):
    return ProductFactory(name="HydraBoost", ingredients=["hyaluronic acid"])


def session_body(patient, products) -> dict:
    return {
        "patient": patient.pk,
        "performed_at": (timezone.now() - timedelta(days=1)).isoformat(),
        "treatment_area": "face", "device": "Dermapen 4", "needle_depth_mm": "0.50",
        "products": products,
    }


def applied(product, count: int) -> list[dict]:
    return [{"product": product.pk, "phase": "pre", "lot_number": f"L{n}"} for n in range(count)]


def product_lookups(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries
            if 'FROM "patients_product"' in query["sql"]]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# Size -------------------------------------------------------------------------------------


def test_it_refuses_a_body_over_the_limit_from_its_headers_without_reading_it(api):
    response = api.generic("POST", "/api/sessions/", b"", content_type="application/json",
                           CONTENT_LENGTH=str(settings.API_MAX_BODY_BYTES + 1),
                           **{"wsgi.input": ExplodingBody()})

    assert response.status_code == 400
    assert response.json() == {"detail": "The request body is too large: at most 256 KB."}
    assert "no-store" in response["Cache-Control"]


def test_it_refuses_the_hundred_thousand_products_of_the_attack_before_any_lookup(api, patient,
                                                                               serum):
    body = json.dumps(session_body(patient, applied(serum, 100_000)))
    assert len(body) > 4_000_000

    with CaptureQueriesContext(connection) as queries:
        response = api.generic("POST", "/api/sessions/", body, content_type="application/json")

    assert response.status_code == 400
    assert "too large" in response.json()["detail"]
    assert product_lookups(queries) == []
    assert not TreatmentSession.objects.exists()


def test_it_bounds_the_token_endpoints_body_too(db):
    response = APIClient().generic(
        "POST", "/api/auth/token/", b"", content_type="application/json",
        CONTENT_LENGTH=str(settings.API_MAX_BODY_BYTES + 1), **{"wsgi.input": ExplodingBody()})

    assert response.status_code == 400
    assert "too large" in response.json()["detail"]


def test_it_refuses_a_content_length_that_is_no_length(api):
    response = api.generic("POST", "/api/patients/", b"", content_type="application/json",
                           CONTENT_LENGTH="-5", **{"wsgi.input": ExplodingBody()})

    assert response.status_code == 400
    assert "Content-Length" in response.json()["detail"]


# Nesting ----------------------------------------------------------------------------------


def patient_body(clinic, **fields) -> dict:
    return {"clinic": clinic.pk, "first_name": "Nadia", "last_name": "Bell",
            "email": "nadia@mail.example", **fields}


def post_raw(api, path: str, text: str):
    return api.generic("POST", path, text.encode(), content_type="application/json")


def test_it_refuses_json_nested_five_thousand_deep_with_a_400(api, clinic):
    text = json.dumps(patient_body(clinic)).replace(
        '"email"', f'"known_allergies": {nested(5000)}, "email"')

    response = post_raw(api, "/api/patients/", text)

    assert response.status_code == 400
    assert "nested too deep" in response.json()["detail"]
    assert not Patient.objects.exists()


def test_it_reads_json_as_deep_as_the_limit_and_names_the_field_it_then_refuses(api, clinic):
    depth = settings.API_MAX_JSON_DEPTH
    at_limit = json.dumps(patient_body(clinic)).replace(
        '"email"', f'"known_allergies": {nested(depth - 1)}, "email"')
    over = json.dumps(patient_body(clinic)).replace(
        '"email"', f'"known_allergies": {nested(depth)}, "email"')

    read = post_raw(api, "/api/patients/", at_limit)
    refused = post_raw(api, "/api/patients/", over)

    assert read.status_code == 400 and "known_allergies" in read.json()
    assert refused.status_code == 400 and "nested too deep" in refused.json()["detail"]


def test_it_does_not_count_brackets_inside_text(api, clinic):
    notes = "[[[{{{" * 500 + '\\"]' + "}"
    response = api.post("/api/patients/", patient_body(clinic, notes=notes), format="json")

    assert response.status_code == 201, response.json()
    assert Patient.objects.get().notes == notes


def test_it_still_refuses_malformed_json_naming_the_problem(api):
    response = post_raw(api, "/api/patients/", '{"first_name": ')

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


@pytest.mark.parametrize(("text", "limit", "deeper"), [
    ("[]", 1, False),
    ("[[]]", 1, True),
    ('{"a": [1, {"b": 2}]}', 3, False),
    ('{"a": [1, {"b": 2}]}', 2, True),
    ('["[[[[", "\\"[[["]', 1, False),
    ('"\\\\"' + "[[", 1, True),  # an escaped backslash ends its string
])
def test_the_nesting_count_reads_strings_as_json_does(text, limit, deeper):
    assert json_nesting_exceeds(text, limit) is deeper


# Lists ------------------------------------------------------------------------------------


def test_it_counts_a_sessions_products_before_looking_any_up(api, patient, serum):
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/sessions/", session_body(patient, applied(serum, 1000)),
                            format="json")

    assert response.status_code == 400
    assert response.json()["products"] == ["At most 30 products per session."]
    assert product_lookups(queries) == []


def test_it_still_takes_thirty_products(api, patient, serum):
    response = api.post("/api/sessions/", session_body(patient, applied(serum, 30)),
                        format="json")

    assert response.status_code == 201, response.json()
    assert len(response.json()["products"]) == 30


def test_it_counts_the_allergy_checks_products_before_looking_any_up(api, patient, serum):
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/sessions/allergy-warnings/",
                            {"patient": patient.pk, "products": applied(serum, 1000)},
                            format="json")

    assert response.status_code == 400
    assert response.json()["products"] == ["At most 30 products per session."]
    assert product_lookups(queries) == []


def test_it_counts_a_list_of_names_before_reading_its_items(api, clinic):
    allergies = [{"not": "a name"}] + ["lidocaine"] * 5000

    response = api.post("/api/patients/", patient_body(clinic, known_allergies=allergies),
                        format="json")

    assert response.status_code == 400
    assert response.json()["known_allergies"] == [
        "Ensure this field has no more than 100 elements."]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=BoUnDaRy"])
def test_it_refuses_a_form_with_too_many_fields_naming_the_problem(api, clinic, content_type):
    fields = [("known_allergies", "x")] * (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)
    if content_type.startswith("multipart"):
        body = "".join(f'--BoUnDaRy\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                       f"{value}\r\n" for name, value in fields) + "--BoUnDaRy--\r\n"
    else:
        body = urlencode(fields)

    response = api.generic("POST", "/api/patients/", body, content_type=content_type)

    assert response.status_code == 400
    assert response.json() == {"detail": "Too many form fields: at most 1000."}
