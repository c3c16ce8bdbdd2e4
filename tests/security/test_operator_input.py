"""Operator commands and every form of a name refuse what is unsafe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from patients.models import Clinic, Patient

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
CONTROL = ["Evil\r\nBcc: all@example.com", "Nul\x00Clinic", "Tab\there", "Line\u2028sep"]


def test_it_refuses_to_seed_the_demo_without_debug():
    with pytest.raises(CommandError, match="DJANGO_DEBUG=true"):
        call_command("seed_demo")

    assert not get_user_model().objects.filter(username="admin").exists()


def test_it_exits_non_zero_with_one_line_when_seeding_in_production(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic.settings", "DJANGO_DEBUG": "false",
           "DJANGO_SECRET_KEY": "production-like-secret-key-0123456789abcdefghijkl",
           "AFTERCARE_VAR_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("CommandError: seed_demo runs only")


def test_it_seeds_the_demo_with_debug_on(demo_mode):
    call_command("seed_demo")

    assert get_user_model().objects.filter(username="demo").exists()


@pytest.mark.parametrize("password", ["1", "password", "12345678901234", "short"])
def test_it_runs_the_password_rules_for_create_staff(clinic, monkeypatch, password):
    monkeypatch.setenv("STAFF_PASSWORD", password)

    with pytest.raises(CommandError, match="password"):
        call_command("create_staff", "nurse2", "--clinic", clinic.name)

    assert not get_user_model().objects.filter(username="nurse2").exists()


def test_it_enrolls_an_authenticator_with_create_staff_otp(clinic, monkeypatch, capsys):
    monkeypatch.setenv("STAFF_PASSWORD", "a long enough password")

    call_command("create_staff", "ines", "--clinic", clinic.name, "--otp")

    lines = capsys.readouterr().out.splitlines()
    uris = [line for line in lines if line.startswith("otpauth://totp/")]
    assert len(uris) == 1
    assert "secret=" in uris[0] and "issuer=Aftercare" in uris[0]
    user = get_user_model().objects.get(username="ines")
    assert user.totpdevice_set.filter(confirmed=True).count() == 1


@pytest.mark.parametrize("name", CONTROL)
def test_it_refuses_control_characters_in_a_clinics_name_from_the_command(name):
    with pytest.raises(CommandError, match="name"):
        call_command("create_clinic", name, "--timezone", "Europe/London")

    assert not Clinic.objects.exists()


def test_it_refuses_control_characters_in_a_username_from_the_command(clinic, monkeypatch):
    monkeypatch.setenv("STAFF_PASSWORD", "a long enough password")

    with pytest.raises(CommandError, match="username"):
        call_command("create_staff", "nurse\r\nroot", "--clinic", clinic.name)


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_it_refuses_control_characters_in_a_patients_name_through_the_api(api, clinic, field):
    payload = {"clinic": clinic.pk, "first_name": "Ines", "last_name": "Duarte",
               "email": "ines@mail.example", field: "Ines\r\nBcc: x@example.com"}

    response = api.post("/api/patients/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Patient.objects.exists()


def admin_form(model, user, instance, **changes):
    """The admin's own form for ``model``, as the change page builds it, with ``changes``."""
    from django.contrib import admin
    from django.forms.models import model_to_dict
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    form_class = admin.site._registry[model].get_form(request, instance, change=True)
    data = {key: value for key, value in model_to_dict(instance).items() if value is not None}
    if "known_allergies" in data:
        data["known_allergies"] = ", ".join(data["known_allergies"])
    data.update(changes)
    return form_class(data=data, instance=instance)


def test_it_refuses_control_characters_in_a_clinics_name_in_the_admin(superuser, clinic):
    form = admin_form(Clinic, superuser, clinic, name="Riverside\r\nBcc: x@example.com")

    assert not form.is_valid()
    assert "name" in form.errors


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_it_refuses_control_characters_in_a_patients_name_in_the_admin(superuser, patient,
                                                                        field):
    form = admin_form(Patient, superuser, patient, **{field: "Maya\x00"})

    assert not form.is_valid()
    assert field in form.errors


def test_it_refuses_control_characters_in_a_staff_members_name_in_the_admin(superuser):
    from followups.desk.clinics import StaffUserChangeForm

    form = StaffUserChangeForm(instance=superuser, data={
        "username": "root", "first_name": "Ro\not", "last_name": "Admin",
        "email": "root@example.com", "date_joined_0": "2026-01-01", "date_joined_1": "00:00",
    })

    assert not form.is_valid()
    assert "first_name" in form.errors
