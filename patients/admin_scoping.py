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

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
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
    """The rows of ``queryset`` at the user's clinics; a queryset already scoped so is kept.

    The scope is remembered on the query (which Django copies into every
    queryset derived from it): a change list's search, scoped again in case
    a queryset from elsewhere reaches it, does not repeat the condition. A
    repeated ``clinic_id IN (…)`` reads to PostgreSQL as two independent
    conditions, and a member of 20 clinics out of 1,000 was planned as if
    they had 50 times fewer rows than they do.
    """
    ids = clinic_ids_for(request)
    if ids is None:
        return queryset
    scope = (clinic_lookup, frozenset(ids))
    applied: frozenset[tuple[str, frozenset[int]]] = getattr(
        queryset.query, "clinic_scopes", frozenset())
    if scope in applied:
        return queryset
    scoped = queryset.filter(**{f"{clinic_lookup}__in": ids})
    scoped.query.clinic_scopes = applied | {scope}  # type: ignore[attr-defined]
    return scoped


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
    #: Path to the clinic of the patient a search matches, when it is not
    #: ``clinic_lookup`` (e.g. ``"session__patient__clinic"`` for check-ins).
    search_clinic_lookup: str = ""

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
        queryset = scope_to_clinics(queryset, request, self.clinic_lookup)
        if search_term and self.search_clinic_lookup:
            # The same clinics on the searched patient too (their clinic is the
            # row's): the planner starts from the user's patients with that name
            # rather than from every session of the network.
            queryset = scope_to_clinics(queryset, request, self.search_clinic_lookup)
        return queryset, may_have_duplicates


class NetworkAutocompleteMixin:
    """Foreign keys a network-wide user picks by typing, as their list filters do.

    A superuser's choice of clinic or practitioner is the whole network: a
    thousand clinics drawn as one ``<select>`` made the patient's page 60%
    slower at 1,000 clinics than at 100. They get Django's autocomplete box
    (the clinic's or user's admin searched as they type); staff keep the
    short list of their own clinics and colleagues.
    """

    network_autocomplete_fields: tuple[str, ...] = ()

    def get_autocomplete_fields(self, request):
        fields = tuple(super().get_autocomplete_fields(request))  # type: ignore[misc]
        if clinic_ids_for(request) is None:
            fields += tuple(name for name in self.network_autocomplete_fields
                            if name not in fields)
        return fields


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A foreign-key list filter offering only the user's clinics or colleagues.

    Keeps the stock parameter (``patient__clinic__id__exact=3``), so links
    built elsewhere (the dashboard) are real list-filter parameters.

    A staff member's choices are their few clinics and colleagues: listed. A
    superuser's are the whole network (a thousand clinics, every user), so
    they get Django's own autocomplete box instead (the admin's
    ``autocomplete/`` view, searching the clinic's or user's admin), and
    nothing is loaded to draw the sidebar. The box's small script that
    applies the choice is django-admin-autocomplete-filter's.
    """

    autocomplete_template = "admin/autocomplete_list_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.autocomplete = clinic_ids_for(request) is None
        super().__init__(field, request, params, model, model_admin, field_path)
        if self.autocomplete:
            self.template = self.autocomplete_template
            self._autocomplete_render(field, model_admin)

    def _autocomplete_render(self, field, model_admin):
        widget = AutocompleteSelect(field, model_admin.admin_site)
        choice = forms.ModelChoiceField(
            queryset=field.remote_field.model._default_manager.all(), widget=widget,
            required=False)
        chosen = self.lookup_val[-1] if self.lookup_val else ""
        self.rendered_widget = choice.widget.render(
            name=self.lookup_kwarg, value=chosen if str(chosen).isdigit() else "",
            attrs={"id": f"id-{self.lookup_kwarg}-autocomplete-filter"})
        self.media = widget.media + forms.Media(
            js=["django-admin-autocomplete-filter/js/autocomplete_filter_qs.js"],
            css={"screen": ["django-admin-autocomplete-filter/css/autocomplete-fix.css"]})

    def has_output(self):
        return self.autocomplete or super().has_output()

    def field_choices(self, field, request, model_admin):
        if clinic_ids_for(request) is None:
            return []  # the autocomplete box asks as the user types
        model = field.remote_field.model
        queryset = scoped_choices(request, model_admin.admin_site, model)
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return [(obj.pk, str(obj)) for obj in queryset]
