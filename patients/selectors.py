"""Reads, always scoped to the clinics a user belongs to."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from patients.models import (
    Clinic,
    ClinicMembership,
)


def user_clinic_ids(user) -> frozenset[int]:
    """Ids of the user's clinics, cached on the user object for the request."""
    cached = getattr(user, "_clinic_ids_cache", None)
    if cached is None:
        if not getattr(user, "is_authenticated", False):
            cached = frozenset()
        elif user.is_superuser:
            cached = frozenset(Clinic.objects.values_list("id", flat=True))
        else:
            cached = frozenset(ClinicMembership.objects.filter(user_id=user.pk)
                               .values_list("clinic_id", flat=True))
        user._clinic_ids_cache = cached
    return cached


def clinics_for_user(user) -> QuerySet[Clinic]:
    if user.is_superuser:
        return Clinic.objects.all()
    return Clinic.objects.filter(id__in=user_clinic_ids(user))


def clinics_by_zone(clinics: Iterable[Clinic]) -> dict[str, QuerySet[Any, Any] | list[int]]:
    """The clinics grouped by time zone: what a condition on local days branches on.

    A network has a handful of zones and any number of clinics: one branch
    per zone keeps a query's size flat as clinics join. A QuerySet gives one
    subquery per zone (``clinic_id IN (SELECT id … WHERE timezone = …)``), one
    query to list its zones; a list of clinics gives their ids per zone.
    """
    if isinstance(clinics, QuerySet):
        zones = clinics.order_by().values_list("timezone", flat=True).distinct()
        return {zone: clinics.filter(timezone=zone).order_by().values("pk") for zone in zones}
    grouped: dict[str, list[int]] = defaultdict(list)
    for clinic in clinics:
        grouped[clinic.timezone].append(clinic.pk)
    return dict(grouped)


def user_managed_clinic_ids(user) -> frozenset[int]:
    """Ids of the clinics ``user`` manages (every clinic for a superuser), cached likewise."""
    cached = getattr(user, "_managed_clinic_ids_cache", None)
    if cached is None:
        if not getattr(user, "is_authenticated", False):
            cached = frozenset()
        elif user.is_superuser:
            cached = user_clinic_ids(user)
        else:
            cached = frozenset(ClinicMembership.objects.filter(user_id=user.pk, is_manager=True)
                               .values_list("clinic_id", flat=True))
        user._managed_clinic_ids_cache = cached
    return cached
