"""A staff user added in the admin: made by staff_create, as the create_staff command does."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

import followups.desk.clinics
from patients.models import ClinicMembership

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "a long enough password"


def add_form(username: str, clinics=(), *, usable_password: bool = True) -> dict:
    data = {"username": username, "usable_password": "true" if usable_password else "false",
            "password1": PASSWORD if usable_password else "",
            "password2": PASSWORD if usable_password else "",
            "clinic_memberships-TOTAL_FORMS": len(clinics),
            "clinic_memberships-INITIAL_FORMS": 0}
    for index, clinic in enumerate(clinics):
        data[f"clinic_memberships-{index}-clinic"] = clinic.pk
    return data


def test_it_adds_a_user_through_staff_create(superuser_client, clinic, monkeypatch):
    calls = []
    real = followups.desk.clinics.staff_create

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(followups.desk.clinics, "staff_create", spy)
    response = superuser_client.post(reverse("admin:auth_user_add"),
                                     add_form("newnurse", [clinic]))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert [call["username"] for call in calls] == ["newnurse"]
    user = User.objects.get(username="newnurse")
    assert response["Location"] == reverse("admin:auth_user_change", args=[user.pk])
    assert user.check_password(PASSWORD)


def test_it_makes_the_same_staff_user_as_the_command(superuser_client, clinic, other_clinic,
                                                    clinic_staff_group, monkeypatch):
    monkeypatch.setenv("STAFF_PASSWORD", PASSWORD)
    call_command("create_staff", "bycommand", "--clinic", clinic.name)
    superuser_client.post(reverse("admin:auth_user_add"),
                          add_form("byadmin", [clinic, other_clinic]))

    by_command = User.objects.get(username="bycommand")
    by_admin = User.objects.get(username="byadmin")
    for user in (by_command, by_admin):
        assert user.is_staff and not user.is_superuser
        assert list(user.groups.all()) == [clinic_staff_group]
    assert set(by_admin.clinics.all()) == {clinic, other_clinic}
    assert list(by_command.clinics.all()) == [clinic]


def test_it_adds_a_user_without_a_clinic_or_a_password(superuser_client, clinic_staff_group):
    response = superuser_client.post(reverse("admin:auth_user_add"),
                                     add_form("pending", usable_password=False))

    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="pending")
    assert not user.has_usable_password()
    assert not ClinicMembership.objects.filter(user=user).exists()
    assert list(user.groups.all()) == [clinic_staff_group]


def test_it_refuses_a_taken_username_on_the_form(superuser_client, staff, clinic):
    response = superuser_client.post(reverse("admin:auth_user_add"),
                                     add_form(staff.username, [clinic]))

    assert response.status_code == 200
    assert "username" in response.context["adminform"].form.errors
    assert User.objects.filter(username=staff.username).count() == 1


def test_it_still_saves_an_existing_users_clinics_from_the_inline(superuser_client, staff,
                                                                 clinic, other_clinic):
    membership = ClinicMembership.objects.get(user=staff)
    response = superuser_client.post(reverse("admin:auth_user_change", args=[staff.pk]), {
        "username": staff.username, "email": staff.email, "is_active": "on", "is_staff": "on",
        "date_joined_0": "2026-01-05", "date_joined_1": "09:00:00",
        "clinic_memberships-TOTAL_FORMS": 2, "clinic_memberships-INITIAL_FORMS": 1,
        "clinic_memberships-0-id": membership.pk, "clinic_memberships-0-user": staff.pk,
        "clinic_memberships-0-clinic": clinic.pk,
        "clinic_memberships-1-user": staff.pk, "clinic_memberships-1-clinic": other_clinic.pk,
    })

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert set(staff.clinics.all()) == {clinic, other_clinic}
