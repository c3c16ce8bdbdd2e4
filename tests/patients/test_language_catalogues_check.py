"""Start-up refuses a patient language without its compiled catalogue (patients.checks).

Django would fall back to English without a word; the check is an Error
naming the language, so `manage.py` refuses to run (and gunicorn and Celery
refuse to start: tests/deploy/test_image.py runs them without a catalogue).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

LOCALE = Path(settings.LOCALE_PATHS[0])


@pytest.fixture
def locale_copy(settings, tmp_path):
    """The project's catalogues in a folder of the test's own, which Django reads instead."""
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE, copy)
    settings.LOCALE_PATHS = [copy]
    return copy


def catalogue_errors() -> list[checks.CheckMessage]:
    return [message for message in checks.run_checks()
            if message.id and message.id.startswith("patients.")]


def test_it_finds_every_patient_languages_catalogue_in_the_project():
    assert catalogue_errors() == []


def test_it_names_the_language_whose_catalogue_is_missing(locale_copy):
    (locale_copy / "fr" / "LC_MESSAGES" / "django.mo").unlink()

    [error] = catalogue_errors()

    assert error.level == checks.ERROR
    assert error.id == "patients.E001"
    assert "No catalogue for French (fr)" in error.msg
    assert str(locale_copy / "fr" / "LC_MESSAGES" / "django.mo") in error.msg
    assert "in English" in error.msg


def test_it_names_every_language_missing_and_none_present(locale_copy):
    for language in ("fr", "es"):
        (locale_copy / language / "LC_MESSAGES" / "django.mo").unlink()

    assert sorted(error.msg.split(":")[0] for error in catalogue_errors()) == [
        "No catalogue for French (fr)", "No catalogue for Spanish (es)"]


def test_a_catalogue_gettext_cannot_read_is_an_error(locale_copy):
    (locale_copy / "es" / "LC_MESSAGES" / "django.mo").write_bytes(b"not a catalogue")

    [error] = catalogue_errors()

    assert error.id == "patients.E002"
    assert "The catalogue for Spanish (es)" in error.msg
    assert "cannot be read" in error.msg


def test_english_needs_no_catalogue(locale_copy):
    assert not (locale_copy / "en").exists()
    assert catalogue_errors() == []


def test_manage_py_check_refuses_to_pass(locale_copy):
    (locale_copy / "fr" / "LC_MESSAGES" / "django.mo").unlink()

    with pytest.raises(SystemCheckError, match=r"patients\.E001.*French \(fr\)"):
        call_command("check")
