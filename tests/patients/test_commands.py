"""Operator commands: clear errors, non-zero exit codes, and an idempotent demo seed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from patients.models import Clinic, Patient, TreatmentSession

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_it_creates_a_clinic_with_its_send_hour():
    call_command("create_clinic", "Riverside", "--timezone", "Europe/Paris", "--phone", "0123",
                 "--email", "alerts@riverside.example", "--send-hour", "9")

    clinic = Clinic.objects.get(name="Riverside")
    assert (clinic.timezone, clinic.send_hour, clinic.email) == (
        "Europe/Paris", 9, "alerts@riverside.example")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Riverside", "--timezone", "Mars/Olympus"], "IANA time zone"),
        (["Riverside", "--timezone", "UTC", "--send-hour", "24"], "send_hour"),
        (["Riverside", "--timezone", "UTC", "--email", "not-an-email"], "email"),
    ],
)
def test_it_refuses_a_bad_clinic_with_a_clear_error(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_clinic", *args)
    assert not Clinic.objects.exists()


def test_it_refuses_a_duplicate_clinic_name():
    call_command("create_clinic", "Riverside", "--timezone", "UTC")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_clinic", "Riverside", "--timezone", "UTC")


def test_it_creates_staff_in_a_clinic_with_the_password_from_the_environment(monkeypatch):
    call_command("create_clinic", "Riverside", "--timezone", "UTC")
    monkeypatch.setenv("STAFF_PASSWORD", "a long enough password")

    call_command("create_staff", "nurse", "--clinic", "Riverside", "--email", "n@x.example")

    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="nurse")
    assert user.is_staff and not user.is_superuser
    assert user.check_password("a long enough password")
    assert list(user.clinics.values_list("name", flat=True)) == ["Riverside"]


def test_it_refuses_staff_for_an_unknown_clinic(monkeypatch):
    monkeypatch.setenv("STAFF_PASSWORD", "a long enough password")
    with pytest.raises(CommandError, match="No clinic named 'Nowhere'"):
        call_command("create_staff", "nurse", "--clinic", "Nowhere")


def test_it_exits_non_zero_from_the_shell_on_error(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}

    def manage(*args):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    assert manage("migrate", "-v0").returncode == 0
    result = manage("create_clinic", "X", "--timezone", "Nowhere/Land")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("CommandError:")
    assert "IANA time zone" in result.stderr


def test_the_demo_seed_runs_twice_without_duplicating(demo_mode):
    call_command("seed_demo")
    counts = (Clinic.objects.count(), Patient.objects.count(), TreatmentSession.objects.count())

    call_command("seed_demo")

    assert counts == (1, 12, 12)
    assert (Clinic.objects.count(), Patient.objects.count(),
            TreatmentSession.objects.count()) == counts
    allergic = [p for p in Patient.objects.all() if "lidocaine" in p.known_allergies]
    assert len(allergic) == 1
