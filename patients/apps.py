from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"

    def ready(self) -> None:
        from django.core import checks

        from patients.checks import patient_language_catalogues_check

        # A patient language without its catalogue is an Error: `manage.py`
        # refuses to run, and so do gunicorn and Celery (core.startup).
        checks.register(patient_language_catalogues_check, checks.Tags.translation)
