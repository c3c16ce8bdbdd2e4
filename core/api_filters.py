"""List filters with django-filter: one FilterSet both filters a list and documents it.

drf-spectacular reads each view's ``filterset_class`` to list the query
parameters in the OpenAPI document, so there is no second declaration to keep
in step. The apps declare their FilterSets (``patients.filters``,
``followups.filters``); this module holds what they share. It imports no app.
"""

from __future__ import annotations

from django import forms
from django_filters import rest_framework as filters
from rest_framework.exceptions import ValidationError

# Ids are 64-bit: a larger number is no id at all, and the database drivers
# raise OverflowError (a 500) if it reaches a query.
MAX_ID = 2**63 - 1


class FilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend; a bad value is a 400 naming its parameter.

    The body is ``{parameter: message}``, one sentence per parameter, as the
    API has always answered a bad query string (django-filter's own backend
    would give a list of messages instead). Every bad parameter is named, not
    only the first.

    The view's ``get_queryset`` scopes the rows to the caller's clinics first;
    filters only ever narrow that.
    """

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise ValidationError({name: " ".join(messages)
                                   for name, messages in filterset.errors.items()})
        return filterset.qs


class IdField(forms.IntegerField):
    """A whole number from 1 to the largest 64-bit id, written as one: "1.0" is refused."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return int(str(value).strip())
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class IdFilter(filters.NumberFilter):
    """``?name=<id>``: the rows whose ``field_name`` relation is the object with that id.

    Name the relation (``patient__clinic``), not its column (``patient__clinic_id``):
    drf-spectacular follows a relation to its target's id and documents an
    integer, but documents a bare column name as any number.
    """

    field_class = IdField

    def get_max_validator(self):
        return None  # IdField has its own bound
