"""A clinic edited in the admin: saved by clinic_update, so its waiting check-ins follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

import followups.desk.clinics
from followups.models import CheckIn
from patients.models import Clinic
from tests.factories import ClinicFactory, PatientFactory, session_with_checkins

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def quiet_clinic(db):
    """A clinic with no members, so its change form has no membership rows to repost."""
    return ClinicFactory(name="Seaside Clinic", timezone="Europe/London", send_hour=10)


def change_form(clinic, **changes) -> dict:
    return {"name": clinic.name, "timezone": clinic.timezone, "phone": clinic.phone,
            "email": clinic.email, "send_hour": clinic.send_hour, **changes,
            "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0}


def test_it_saves_a_clinic_change_through_clinic_update(superuser_client, superuser,
                                                       quiet_clinic, monkeypatch):
    calls = []
    real = followups.desk.clinics.clinic_update

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(followups.desk.clinics, "clinic_update", spy)
    response = superuser_client.post(
        reverse("admin:patients_clinic_change", args=[quiet_clinic.pk]),
        change_form(quiet_clinic, phone="+44 1273 000000"))

    assert response.status_code == 302
    assert len(calls) == 1
    assert calls[0]["actor"] == superuser
    assert calls[0]["data"]["phone"] == "+44 1273 000000"
    assert Clinic.objects.get(pk=quiet_clinic.pk).phone == "+44 1273 000000"


def test_it_moves_waiting_checkins_when_the_admin_changes_the_send_hour(
        superuser_client, superuser, quiet_clinic):
    with time_machine.travel(NOW, tick=False):
        session = session_with_checkins(patient=PatientFactory(clinic=quiet_clinic),
                                        practitioner=superuser,
                                        performed_at=NOW - timedelta(hours=1))
        response = superuser_client.post(
            reverse("admin:patients_clinic_change", args=[quiet_clinic.pk]),
            change_form(quiet_clinic, send_hour=16, timezone="Europe/Paris"))

    assert response.status_code == 302
    # 16:00 in Paris: UTC+1 in March.
    assert {c.day: c.due_at for c in CheckIn.objects.filter(session=session)} == {
        2: datetime(2026, 3, 4, 15, 0, tzinfo=UTC),
        7: datetime(2026, 3, 9, 15, 0, tzinfo=UTC),
    }


def test_it_shows_a_refused_change_on_the_form(superuser_client, quiet_clinic):
    response = superuser_client.post(
        reverse("admin:patients_clinic_change", args=[quiet_clinic.pk]),
        change_form(quiet_clinic, timezone="Mars/Olympus"))

    assert response.status_code == 200
    assert "timezone" in response.context["adminform"].form.errors
    assert Clinic.objects.get(pk=quiet_clinic.pk).timezone == "Europe/London"
