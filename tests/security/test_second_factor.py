"""A stolen password alone does not sign in: the second factor (interface: Staff sign-in).

The suite runs as production does (DJANGO_DEBUG false, so OTP_REQUIRED): these
tests use a plain Django client that signs in by the form, with and without
the authenticator's code.
"""

from __future__ import annotations

import re

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tests.support.otp import authenticator_for, code_for

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def nurse(staff, clinic_staff_group):
    staff.groups.add(clinic_staff_group)
    return staff


@pytest.fixture
def clinic_staff_group(db):
    from tests.admin.builders import ensure_clinic_staff_group

    return ensure_clinic_staff_group()


def sign_in(client, username="nurse", password=PASSWORD, code=None):
    data = {"username": username, "password": password, "next": "/admin/"}
    if code is not None:
        data["otp_token"] = code
    return client.post(LOGIN, data)


def test_it_asks_for_the_code_in_the_same_form_with_no_device_to_choose(nurse):
    page = Client().get(LOGIN).content.decode()

    assert 'name="username"' in page and 'name="password"' in page
    assert 'name="otp_token"' in page
    assert 'autocomplete="one-time-code"' in page
    assert "otp_device" not in page


def test_it_does_not_let_a_password_alone_in_once_enrolled(nurse, patient):
    authenticator_for(nurse)
    client = Client()

    response = sign_in(client)

    assert response.status_code == 200  # the form again, with an error
    assert "authenticator code" in response.content.decode()
    assert client.get("/admin/").status_code == 302
    assert client.get(reverse("admin:patients_patient_changelist")).status_code == 302


def test_it_refuses_a_wrong_code(nurse):
    device = authenticator_for(nurse)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"

    response = sign_in(Client(), code=wrong)

    assert response.status_code == 200
    assert "_auth_user_id" not in Client().session


def test_it_signs_in_with_the_password_and_the_current_code(nurse, patient):
    device = authenticator_for(nurse)
    client = Client()

    response = sign_in(client, code=code_for(device))

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    page = client.get(reverse("admin:patients_patient_changelist"))
    assert page.status_code == 200 and "Quintero" in page.content.decode()


def test_it_accepts_a_code_only_once(nurse):
    device = authenticator_for(nurse)
    with time_machine.travel("2026-03-02 10:00:05 +00:00", tick=False):
        code = code_for(device)
        assert sign_in(Client(), code=code).status_code == 302
        replayed = sign_in(Client(), code=code)

    assert replayed.status_code == 200


def test_it_takes_a_user_without_an_authenticator_to_enroll_before_any_patient_data(nurse,
                                                                                     patient):
    client = Client()

    signed_in = sign_in(client)  # no authenticator yet: the password, then enrollment
    pages = [client.get(url) for url in (
        "/admin/", reverse("admin:patients_patient_changelist"),
        reverse("admin:patients_patient_change", args=[patient.pk]),
        reverse("admin:followups_escalation_changelist"), reverse("admin:exports"),
    )]
    api = client.get("/api/patients/")

    assert signed_in.status_code == 302
    enroll = reverse("admin:otp_enroll")
    assert all(page.status_code == 302 and page["Location"] == enroll for page in pages)
    assert api.status_code in (401, 403)
    assert "Quintero" not in api.content.decode()


def test_it_enrolls_with_a_qr_code_drawn_on_the_server_and_its_text_key(nurse, patient):
    client = Client()
    sign_in(client)

    page = client.get(reverse("admin:otp_enroll"))
    html = page.content.decode()
    device = TOTPDevice.objects.get(user=nurse, confirmed=False)
    key = re.search(r'<code id="otp-text-key">([A-Z2-7 ]+)</code>', html).group(1)

    assert page.status_code == 200
    qr = html.split('<div class="otp-qr"', 1)[1].split("</div>", 1)[0]
    assert "<svg" in qr and "<path" in qr
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script
    assert "http" not in qr.replace("http://www.w3.org/2000/svg", "")  # nothing from elsewhere
    assert key.replace(" ", "") == __import__("base64").b32encode(device.bin_key).decode()
    assert page["Cache-Control"].count("no-store") == 1

    confirmed = client.post(reverse("admin:otp_enroll"), {"otp_token": code_for(device)})

    codes = re.findall(r"<li><code>([0-9a-f]{10})</code></li>", confirmed.content.decode())
    assert confirmed.status_code == 200 and len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("admin:patients_patient_changelist")).status_code == 200


def test_it_does_not_confirm_an_authenticator_with_a_wrong_code(nurse):
    client = Client()
    sign_in(client)
    client.get(reverse("admin:otp_enroll"))

    response = client.post(reverse("admin:otp_enroll"), {"otp_token": "000000"})

    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=nurse, confirmed=True).exists()
    assert client.get("/admin/").status_code == 302


def test_it_signs_in_once_with_each_recovery_code(nurse):
    from accounts.otp import recovery_codes_issue

    authenticator_for(nurse)
    [first, *_] = recovery_codes_issue(user=nurse)

    assert sign_in(Client(), code=first).status_code == 302
    assert sign_in(Client(), code=first).status_code == 200


def test_it_lets_an_operator_reset_a_lost_phone(nurse, capsys):
    authenticator_for(nurse)
    browser = Client()
    browser.force_login(nurse)

    call_command("reset_otp", "nurse")

    assert not TOTPDevice.objects.filter(user=nurse).exists()
    assert not StaticDevice.objects.filter(user=nurse).exists()
    assert browser.get("/admin/").status_code == 302  # their session ended
    client = Client()
    sign_in(client)
    assert client.get("/admin/")["Location"] == reverse("admin:otp_enroll")


def test_it_treats_a_session_without_the_second_factor_as_signed_out(nurse, patient):
    authenticator_for(nurse)
    client = Client()
    client.force_login(nurse)  # a session that never gave the code

    assert client.get("/admin/").status_code == 302
    assert client.get("/api/patients/").status_code in (401, 403)


def test_it_refuses_a_token_without_the_code(nurse):
    authenticator_for(nurse)

    response = APIClient().post("/api/auth/token/", {"username": "nurse", "password": PASSWORD},
                                format="json")

    assert response.status_code == 400
    assert "token" not in response.json()


def ask_for_a_token(password: str):
    return APIClient(REMOTE_ADDR="203.0.113.7").post(
        "/api/auth/token/", {"username": "nurse", "password": password}, format="json")


def test_it_refuses_a_token_to_a_user_with_no_second_factor_yet(nurse):
    response = ask_for_a_token(PASSWORD)

    assert response.status_code == 400
    assert "token" not in response.json()
    assert "sign in to the admin first" in str(response.json())


def test_it_answers_the_right_password_of_a_user_with_no_second_factor_as_a_wrong_one(nurse):
    right = ask_for_a_token(PASSWORD)
    wrong = ask_for_a_token("not the password")

    assert right.status_code == wrong.status_code == 400
    assert right.json() == wrong.json()


def test_it_counts_the_right_password_of_a_user_with_no_second_factor_as_a_failure(nurse):
    # Otherwise the lockout would tell: after nine wrong guesses, the right one
    # would leave the account open and a wrong one would lock it.
    for _ in range(9):
        ask_for_a_token("not the password")

    ask_for_a_token(PASSWORD)

    assert ask_for_a_token(PASSWORD).status_code == 429


def test_it_sends_a_sign_in_whose_next_is_refused_to_the_desk(nurse):
    device = authenticator_for(nurse)

    response = Client().post("/admin/login/?next=https://elsewhere.example/", {
        "username": "nurse", "password": PASSWORD, "otp_token": code_for(device),
        "next": "https://elsewhere.example/"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_it_lets_the_demo_sign_in_with_a_password_when_debug_is_on(nurse, settings):
    settings.OTP_REQUIRED = False  # what DJANGO_DEBUG=true gives (clinic.settings)
    client = Client()

    assert sign_in(client).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_it_requires_the_second_factor_whenever_debug_is_off():
    from clinic import settings as production

    assert production.OTP_REQUIRED is (not production.DEBUG)
    from django.conf import settings

    assert settings.DEBUG is False and settings.OTP_REQUIRED is True
