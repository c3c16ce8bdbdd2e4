from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from patients.models import ClinicMembership
from tests.factories import UserFactory
from tests.records.receiver import Receiver


@pytest.fixture
def receiver():
    server = Receiver()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def manager(clinic):
    user = UserFactory(username="manager", clinics=[clinic])
    ClinicMembership.objects.filter(user=user, clinic=clinic).update(is_manager=True)
    return user


@pytest.fixture
def manager_api(manager):
    client = APIClient()
    client.force_authenticate(manager)
    return client
