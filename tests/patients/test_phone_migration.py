"""Existing phone numbers become E.164, read in their clinic's country; the unreadable stay.

The database is taken back to before the numbers were parsed, patients are
written with the free text staff typed then, and the migrations run
forward: each number is E.164, an unreadable one is kept as it was (and
listed, by patient id, without failing), and the patient's page flags it.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from patients.models import Patient

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("patients", "0009_notes_length")]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


@pytest.fixture
def before_the_numbers():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    executor = migrate(BEFORE)
    others = [node for node in executor.loader.graph.leaf_nodes()
              if node[0] not in ("patients", "followups")]
    yield executor.loader.project_state(others + BEFORE).apps
    migrate(latest)


def test_it_converts_each_number_in_its_clinics_country_and_keeps_the_unreadable(
        before_the_numbers, capsys):
    apps = before_the_numbers
    Clinic = apps.get_model("patients", "Clinic")
    PatientThen = apps.get_model("patients", "Patient")
    london = Clinic.objects.create(name="London", timezone="Europe/London")
    paris = Clinic.objects.create(name="Paris", timezone="Europe/Paris")
    typed = {
        "uk-mobile": (london, "07400 123456"),
        "uk-intl": (london, "+44 (0)20 7946 0123"),
        "fr-mobile": (paris, "06 12 34 56 78"),
        "garbage": (london, "ask at reception"),
        "empty": (london, ""),
    }
    ids = {key: PatientThen.objects.create(clinic=clinic, first_name=key, last_name="Q",
                                           email=f"{key}@mail.example", phone=phone).pk
           for key, (clinic, phone) in typed.items()}
    migrate([("patients", "0013_phone_numbers_as_e164")])

    stored = dict(Patient.objects.values_list("first_name", "phone"))
    assert stored["uk-mobile"] == "+447400123456"
    assert stored["uk-intl"] == "+442079460123"
    assert stored["fr-mobile"] == "+33612345678"
    assert stored["garbage"] == "ask at reception" and stored["empty"] == ""
    assert f"patient id(s) {ids['garbage']}" in capsys.readouterr().out
    garbage = Patient.objects.get(pk=ids["garbage"])
    assert garbage.phone_needs_check
    assert not Patient.objects.get(pk=ids["uk-mobile"]).phone_needs_check
    assert Patient.objects.get(pk=ids["uk-mobile"]).contact_by == "email"
    assert Patient.objects.get(pk=ids["fr-mobile"]).clinic.country == "FR"
