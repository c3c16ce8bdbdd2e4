"""Admin personas (in the "Clinic staff" group) and a clinic's worth of follow-up data."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from tests.admin.builders import World, build_world, ensure_clinic_staff_group


@pytest.fixture
def clinic_staff_group(db) -> Group:
    return ensure_clinic_staff_group()


@pytest.fixture
def staff(staff, clinic_staff_group):
    """The clinic's nurse, with exactly the group's permissions."""
    staff.groups.add(clinic_staff_group)
    return staff


@pytest.fixture
def outsider(outsider, clinic_staff_group):
    outsider.groups.add(clinic_staff_group)
    return outsider


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def own_world(clinic, staff) -> World:
    return build_world(clinic, staff, tag="Own")


@pytest.fixture
def other_world(other_clinic, outsider) -> World:
    return build_world(other_clinic, outsider, tag="Zedd")

