"""Headers on health data, bad input that used to be a 500, and what a photo keeps."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageCms

from followups.link.photos import photo_reencode
from tests.factories import session_with_checkins

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client


def test_it_sends_a_content_security_policy_on_the_admin(superuser_client):
    response = superuser_client.get("/admin/")

    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "http" not in policy  # nothing from another host
    assert "unsafe-inline" not in directives["script-src"]


def test_it_sends_the_policy_on_the_admins_sign_in_page_too(client):
    assert "script-src 'self'" in client.get("/admin/login/")["Content-Security-Policy"]


def policy_of(response) -> dict[str, str]:
    return dict(part.strip().split(" ", 1)
                for part in response["Content-Security-Policy"].split(";") if part.strip())


@pytest.mark.parametrize(("path", "accept"), [
    ("/api/docs/", "text/html"),  # Swagger UI
    ("/api/patients/", "text/html"),  # DRF's browsable API: patients' names
    ("/api/sessions/", "text/html"),
    ("/admin/", "text/html"),
])
def test_it_sends_the_policy_on_every_html_page_staff_see(superuser_client, patient, path,
                                                         accept):
    response = superuser_client.get(path, HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    directives = policy_of(response)
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_the_api_browser_runs_no_inline_script(superuser_client):
    page = superuser_client.get("/api/docs/").content.decode()

    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.DOTALL)
    assert scripts and all("src=" in attributes and not body.strip()
                           for attributes, body in scripts)


def test_it_sends_the_policy_on_pages_anyone_may_reach(client):
    for path in ("/admin/login/", "/no-such-page/", "/api/no-such-thing/"):
        assert policy_of(client.get(path))["script-src"] == "'self'", path


def test_it_keeps_the_patient_pages_own_stricter_policy(client):
    policy = client.get("/c/" + "A" * 43 + "/")["Content-Security-Policy"]

    assert "script-src 'none'" in policy


@pytest.mark.parametrize("path", ["/api/patients/", "/api/sessions/", "/api/checkins/",
                                  "/api/escalations/", "/api/clinics/"])
def test_it_marks_api_answers_no_store(api, patient, path):
    response = api.get(path)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_it_marks_an_api_error_no_store_too(api):
    assert "no-store" in api.get("/api/patients/999999/")["Cache-Control"]


def test_it_answers_a_nul_in_the_admin_autocomplete_term_with_400(superuser_client, patient):
    response = superuser_client.get("/admin/autocomplete/", {
        "term": "Ma\x00ya", "app_label": "patients", "model_name": "treatmentsession",
        "field_name": "patient"})

    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_it_answers_a_nul_in_an_admin_search_with_400(superuser_client):
    response = superuser_client.get(reverse("admin:patients_patient_changelist"),
                                    {"q": "\x00"})

    assert response.status_code == 400


def test_it_still_autocompletes_a_plain_term(superuser_client, patient):
    response = superuser_client.get("/admin/autocomplete/", {
        "term": "Maya", "app_label": "patients", "model_name": "treatmentsession",
        "field_name": "patient"})

    assert response.status_code == 200
    assert "Maya" in response.content.decode()


@pytest.mark.parametrize(("start", "end"), [("9999-12-30", "9999-12-31"),
                                            ("0001-01-01", "0001-01-02")])
def test_it_answers_an_export_at_the_calendars_edge_with_400(superuser_client, clinic, start,
                                                             end):
    response = superuser_client.post(reverse("admin:exports"), {
        "what": "queue", "start": start, "end": end, "clinic": clinic.pk})

    assert response.status_code == 400
    assert "Choose days between" in response.content.decode()


def test_it_still_exports_an_ordinary_range(superuser_client, clinic, patient, staff):
    session_with_checkins(patient=patient, practitioner=staff)
    today = date.today().isoformat()

    response = superuser_client.post(reverse("admin:exports"), {
        "what": "queue", "start": today, "end": today, "clinic": clinic.pk})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


def photo_with_profile(profile: bytes, colour=(200, 60, 60)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="JPEG", quality=95, icc_profile=profile)
    return SimpleUploadedFile("photo.jpg", out.getvalue(), content_type="image/jpeg")


def test_it_stores_a_photo_without_the_phones_colour_profile():
    phone_bytes = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    marker = phone_bytes + b"PHONE-SERIAL-0042" * 100

    stored = photo_reencode(photo_with_profile(marker))

    data = stored.read()
    assert b"PHONE-SERIAL-0042" not in data and b"ICC_PROFILE" not in data
    assert "icc_profile" not in Image.open(io.BytesIO(data)).info


def test_it_converts_a_wide_gamut_photo_to_srgb_first():
    wide = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))  # not RGB: left as is
    adobe_like = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    for profile in (wide, adobe_like):
        stored = photo_reencode(photo_with_profile(profile.tobytes()))
        image = Image.open(io.BytesIO(stored.read()))
        red, green, blue = image.convert("RGB").getpixel((20, 15))
        assert red > 150 and green < 110 and blue < 110  # still the red the phone saw
        assert "icc_profile" not in image.info


def test_it_ignores_a_broken_profile():
    stored = photo_reencode(photo_with_profile(b"not a profile at all" * 10))

    assert "icc_profile" not in Image.open(io.BytesIO(stored.read())).info


def test_it_drops_a_session_cookie_with_a_nul_instead_of_failing(api, patient):
    api.cookies["sessionid"] = "abc\x00def12345"

    assert api.get("/api/patients/").status_code == 200
    assert api.get("/admin/login/").status_code == 200
