"""Which clinics a user may see: the check every staff read and write starts from."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients.selectors import user_clinic_ids
from tests.factories import ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_gives_the_clinics_a_user_belongs_to_and_no_other(clinic, other_clinic):
    third = ClinicFactory(name="Third Clinic")
    user = UserFactory(clinics=[clinic, third])
    UserFactory(clinics=[other_clinic])

    assert user_clinic_ids(user) == frozenset({clinic.pk, third.pk})


def test_it_gives_a_user_of_no_clinic_none(clinic):
    assert user_clinic_ids(UserFactory(clinics=[])) == frozenset()


def test_it_gives_an_anonymous_user_none(clinic):
    assert user_clinic_ids(AnonymousUser()) == frozenset()


def test_it_gives_a_superuser_every_clinic(clinic, other_clinic):
    admin = UserFactory(is_superuser=True, clinics=[])

    assert user_clinic_ids(admin) == frozenset({clinic.pk, other_clinic.pk})


def test_it_asks_the_database_once_per_user_object(clinic):
    user = UserFactory(clinics=[clinic])

    with CaptureQueriesContext(connection) as captured:
        first, second = user_clinic_ids(user), user_clinic_ids(user)

    assert first == second == frozenset({clinic.pk})
    assert len(captured) == 1
