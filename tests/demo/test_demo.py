"""The demo shows the patient's side: its emails print with working links."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from followups.models import CheckInResponse
from patients.models import Patient

PROJECT = Path(__file__).resolve().parents[2]

WORKER_SETTING = (
    "import django; django.setup(); from clinic.celery import app; "
    "print(app.conf.worker_redirect_stdouts)"
)


def _worker_redirects_stdout(tmp_path, **env) -> str:
    environment = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8",
                   "DJANGO_SETTINGS_MODULE": "clinic.settings",
                   "AFTERCARE_VAR_DIR": str(tmp_path / "var"), **env}
    result = subprocess.run([sys.executable, "-c", WORKER_SETTING], cwd=PROJECT,
                            env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_it_prints_the_demos_emails_as_output_not_as_redacted_logs(tmp_path):
    assert _worker_redirects_stdout(tmp_path, DJANGO_DEBUG="true") == "False"


def test_it_keeps_a_workers_printed_lines_in_the_redacted_logs_outside_the_demo(tmp_path):
    assert _worker_redirects_stdout(
        tmp_path, DJANGO_DEBUG="true",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    ) == "True"
    assert _worker_redirects_stdout(
        tmp_path, DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="k3y-for-the-demo-tests-0123456789abcdefghijklmnopqrstuvwxyz",
    ) == "True"


@pytest.mark.django_db
def test_the_demo_seeds_photos_side_by_side_and_patients_in_three_languages(demo_mode):
    call_command("seed_demo")

    with_photos = CheckInResponse.objects.exclude(photo="")
    assert sorted(r.checkin.day for r in with_photos) == [2, 7]
    assert {r.checkin.session.patient.last_name for r in with_photos} == {"Kowalski"}
    assert set(Patient.objects.values_list("language", flat=True)) == {"en", "fr", "es"}


def test_celery_starts_without_warning_about_old_setting_names(tmp_path):
    environment = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8",
                   "DJANGO_SETTINGS_MODULE": "clinic.settings", "DJANGO_DEBUG": "true",
                   "AFTERCARE_VAR_DIR": str(tmp_path / "var")}
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c",
         "import django; django.setup(); from clinic.celery import app; "
         "print(app.conf.task_serializer, app.conf.accept_content, app.conf.result_backend, "
         "app.conf.maybe_warn_deprecated_settings())"],
        cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["json", "['json']", "None", "False"]
    assert "deprecated" not in result.stderr


@pytest.mark.django_db
def test_the_demo_texts_one_patient_and_calls_the_one_who_opted_out(demo_mode, capsys):
    from followups.delivery.sweep import followups_sweep
    from followups.models import CallInstead, Delivery

    call_command("seed_demo")
    followups_sweep()

    printed = capsys.readouterr().out
    lucia = Patient.objects.get(last_name="Fernandez")
    assert lucia.contact_by == "sms"
    assert f"Text to {lucia.phone}:" in printed and "/c/" in printed
    assert Delivery.objects.filter(checkin__session__patient=lucia, channel="sms").exists()
    isaac = Patient.objects.get(last_name="Mensah")
    assert isaac.email_opted_out_at is not None and not isaac.phone
    assert CallInstead.objects.filter(patient=isaac).exists()
    assert not Delivery.objects.filter(checkin__session__patient=isaac).exists()
