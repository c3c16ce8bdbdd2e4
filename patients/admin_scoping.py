"""Clinic scoping for the admin: a staff member sees only the clinics they belong to.

It lives in the patients app because clinics and their memberships are that
app's domain; the follow-ups admin imports it from here.

Every clinic-owned model admin declares one path from its model to the clinic
(``clinic_lookup = "session__patient__clinic"``) and inherits
``ClinicScopedAdminMixin``. That one declaration scopes the change list, the
change, history and delete pages (a miss is a 404, not Django's "perhaps it
was deleted" redirect, which would confirm that the id exists), search,
autocomplete, actions (Django runs them on ``get_queryset``), the choices of
every foreign key and many-to-many field, and the clinic and practitioner
list filters. Superusers see every clinic.

A model this module does not know how to scope is never offered to staff as
a choice (it fails closed): see ``UNSCOPED_MODELS`` for the deliberate
exceptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.http import Http404

from patients.models import ClinicMembership, Product
from patients.selectors import user_clinic_ids

# Shared by every clinic on purpose: the product catalogue (ingredients are a
# fact about the product, not about a clinic).
UNSCOPED_MODELS: frozenset[type[Model]] = frozenset({Product})

if TYPE_CHECKING:
    from django.contrib.admin.options import BaseModelAdmin

    # What the mixins' super() calls reach: the admin class they are mixed into
    # (a ModelAdmin, or for the choices alone an inline too).
    _AdminBase = BaseModelAdmin
    _ModelAdminBase = admin.ModelAdmin
else:
    _AdminBase = _ModelAdminBase = object


def clinic_ids_for(request) -> frozenset[int] | None:
    """The clinic ids the request's user may see; None means every clinic."""
    user = request.user
    if user.is_active and user.is_superuser:
        return None
    return user_clinic_ids(user)


def scope_to_clinics(queryset: QuerySet, request, clinic_lookup: str) -> QuerySet:
    ids = clinic_ids_for(request)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{clinic_lookup}__in": ids})


def colleagues_of(request, queryset: QuerySet | None = None) -> QuerySet:
    """Users who belong to at least one of the request user's clinics."""
    queryset = queryset if queryset is not None else get_user_model()._default_manager.all()
    ids = clinic_ids_for(request)
    if ids is None:
        return queryset
    members = ClinicMembership.objects.filter(clinic_id__in=ids).values("user_id")
    return queryset.filter(pk__in=members)


def scoped_choices(request, admin_site, model: type[Model],
                   queryset: QuerySet | None = None) -> QuerySet:
    """The objects of ``model`` the user may pick in a form or a list filter."""
    queryset = queryset if queryset is not None else model._default_manager.all()
    if clinic_ids_for(request) is None or model in UNSCOPED_MODELS:
        return queryset
    if model is get_user_model():
        return colleagues_of(request, queryset)
    lookup = getattr(admin_site._registry.get(model), "clinic_lookup", None)
    if not lookup:
        return queryset.none()
    return scope_to_clinics(queryset, request, lookup)


class ScopedChoicesMixin(_AdminBase):
    """Foreign-key and many-to-many choices limited to the user's clinics.

    Works for ModelAdmin and InlineModelAdmin alike: both build their choice
    fields from ``get_field_queryset``.
    """

    def get_field_queryset(self, db, db_field, request):
        queryset = super().get_field_queryset(db, db_field, request)
        model = db_field.remote_field.model
        if queryset is None:
            queryset = model._default_manager.using(db).all()
        return scoped_choices(request, self.admin_site, model, queryset)


class ClinicScopedAdminMixin(ScopedChoicesMixin, _ModelAdminBase):
    """Put first in the bases of a ModelAdmin whose rows belong to a clinic."""

    #: Path from the model to its Clinic, e.g. ``"patient__clinic"``; ``"pk"``
    #: for the Clinic model itself.
    clinic_lookup: str = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.clinic_lookup:
            raise TypeError(f"{cls.__name__} must declare clinic_lookup")

    def get_queryset(self, request):
        return scope_to_clinics(super().get_queryset(request), request, self.clinic_lookup)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Another clinic's object and an id that never existed look the same.
            raise Http404("No such object in your clinics.")
        return obj

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        # Autocomplete passes its own queryset in; scope it whatever it is.
        return scope_to_clinics(queryset, request, self.clinic_lookup), may_have_duplicates


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A foreign-key list filter offering only the user's clinics or colleagues.

    Keeps the stock parameter (``patient__clinic__id__exact=3``), so links
    built elsewhere (the dashboard) are real list-filter parameters.
    """

    def field_choices(self, field, request, model_admin):
        model = field.remote_field.model
        queryset = scoped_choices(request, model_admin.admin_site, model)
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return [(obj.pk, str(obj)) for obj in queryset]
