"""The system check that the patients' languages have their compiled catalogues.

Django falls back to English without a word when a language's catalogue
(``locale/<code>/LC_MESSAGES/django.mo``) is missing: a French patient would
get an English email and an English page under ``lang="fr"``. Here that is an
Error naming the language, so `manage.py check`, `migrate` and every other
command refuse to run, and so do gunicorn and Celery (core.startup).
"""

from __future__ import annotations

import gettext
import struct
from pathlib import Path

from django.conf import settings
from django.core import checks

from patients.models import Language

# The templates and the code are written in English: it has no catalogue.
SOURCE_LANGUAGE = Language.ENGLISH

HINT = ("The compiled catalogues are committed beside their .po files: ship locale/ with the "
        "code, or compile them again with `python locale/compile.py` (make messages).")


def catalogue_candidates(code: str) -> list[Path]:
    """Where Django looks for the project's catalogue of one language (LOCALE_PATHS)."""
    return [Path(folder) / code / "LC_MESSAGES" / "django.mo" for folder in settings.LOCALE_PATHS]


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(settings.BASE_DIR))
    except ValueError:
        return str(path)


def patient_language_catalogues_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if app_configs is not None and not any(config.name == "patients" for config in app_configs):
        return []
    errors: list[checks.CheckMessage] = []
    for language in Language:
        if language == SOURCE_LANGUAGE:
            continue
        candidates = catalogue_candidates(language.value)
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            where = " or ".join(_shown(path) for path in candidates) or "no LOCALE_PATHS"
            errors.append(checks.Error(
                f"No catalogue for {language.label} ({language.value}): {where} is missing, "
                f"so {language.label}-speaking patients would get their emails and check-in "
                "pages in English.",
                hint=HINT, id="patients.E001"))
            continue
        try:
            with found.open("rb") as stream:
                gettext.GNUTranslations(stream)
        except (OSError, ValueError, struct.error) as error:
            errors.append(checks.Error(
                f"The catalogue for {language.label} ({language.value}), {_shown(found)}, "
                f"cannot be read ({error}), so {language.label}-speaking patients would get "
                "their emails and check-in pages in English.",
                hint=HINT, id="patients.E002"))
    return errors
