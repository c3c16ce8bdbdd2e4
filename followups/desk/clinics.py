"""Admin for clinics, staff and the shared product catalogue (superusers and catalogue managers).

Writes go through the services like every other way in.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.forms.formsets import DELETION_FIELD_NAME

from core.validators import no_control_characters
from followups.sessions import (
    clinic_update,
    product_create,
    product_update,
)
from patients.admin_scoping import (
    ClinicScopedAdminMixin,
    ScopedChoicesMixin,
)
from patients.models import (
    Clinic,
    ClinicMembership,
    Product,
)
from patients.services import (
    CLINIC_FIELDS,
    catalogue_may_change,
    clinic_create,
    membership_add,
    staff_create,
)


class IngredientListField(forms.CharField):
    """Names separated by commas or new lines in the form; a list in the database."""

    widget = forms.Textarea(attrs={"rows": 2, "cols": 60})

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""  # None only with empty_value=None
        return [name.strip() for name in re.split(r"[,\n]", text) if name.strip()]


# Clinics and staff (superusers manage them) --------------------------------------------


def is_superuser(request) -> bool:
    return request.user.is_active and request.user.is_superuser


class SuperuserWritesMixin:
    """Only superusers add, change or delete: clinics and users are theirs to manage."""

    def has_add_permission(self, request):
        return is_superuser(request)

    def has_change_permission(self, request, obj=None):
        return is_superuser(request)

    def has_delete_permission(self, request, obj=None):
        return is_superuser(request)


class MembershipInline(ScopedChoicesMixin, admin.TabularInline):
    model = ClinicMembership
    fields = ("user", "is_manager", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)
    extra = 0


class ClinicForm(forms.ModelForm):
    """The clinic's details; a form without the default language, country or channel keeps
    the clinic's own."""

    class Meta:
        model = Clinic
        fields = CLINIC_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("default_language", "country", "default_contact_by"):
            if name in self.fields:
                self.fields[name].required = False

    def clean_default_language(self):
        return (self.cleaned_data.get("default_language") or self.instance.default_language
                or "en")

    def clean_country(self):
        return self.cleaned_data.get("country") or self.instance.country or "GB"

    def clean_default_contact_by(self):
        return (self.cleaned_data.get("default_contact_by") or self.instance.default_contact_by
                or "email")


@admin.register(Clinic)
class ClinicAdmin(SuperuserWritesMixin, ClinicScopedAdminMixin, admin.ModelAdmin):
    """Staff read their own clinics; only superusers add or change them."""

    clinic_lookup = "pk"
    form = ClinicForm
    list_display = ("name", "timezone", "send_hour", "default_language", "email", "phone")
    search_fields = ("name",)
    inlines = (MembershipInline,)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            # A new send hour or time zone moves the clinic's waiting check-ins.
            clinic_update(actor=request.user, clinic=obj,
                          data={key: data[key] for key in CLINIC_FIELDS if key in data})
            obj.refresh_from_db()
            return
        # The form's instance becomes the new row: the admin logs and shows it.
        clinic_create(name=data["name"], timezone_name=data["timezone"],
                      phone=data.get("phone", ""), email=data.get("email", ""),
                      send_hour=data.get("send_hour", 10),
                      default_language=data.get("default_language", "en"), instance=obj)


class UserMembershipInline(admin.TabularInline):
    model = ClinicMembership
    fk_name = "user"
    fields = ("clinic",)
    extra = 1
    verbose_name = "clinic"
    verbose_name_plural = "Clinics this user belongs to"


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


class StaffUserChangeForm(UserChangeForm):
    """Django's user form; a staff member's names and email hold no control characters."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name", "email"):
            if name in self.fields:
                self.fields[name].validators.append(no_control_characters)


@admin.register(User)
class StaffUserAdmin(SuperuserWritesMixin, UserAdmin):
    """Users and their clinics: superusers only, whatever permissions a group grants."""

    form = StaffUserChangeForm
    inlines = (UserMembershipInline,)
    list_display = ("username", "email", "first_name", "last_name", "is_staff",
                    "is_superuser", "clinic_names")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("clinics")

    @admin.display(description="Clinics")
    def clinic_names(self, obj):
        return ", ".join(clinic.name for clinic in obj.clinics.all())

    def has_module_permission(self, request):
        return is_superuser(request)

    def has_view_permission(self, request, obj=None):
        return is_superuser(request)

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        return form.instance  # unsaved, no password yet: staff_create sets it, once

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        # A new user is deferred to save_related: staff_create needs the
        # clinics inline's rows too.

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)
            return
        # The same service as the create_staff command: a staff user, in the
        # "Clinic staff" group, a member of the clinics chosen below.
        data = form.cleaned_data
        # "Password-based authentication: disabled" on the form is no password.
        usable = data.get("set_usable_password", True)
        user = staff_create(username=data["username"], clinic=None,
                            password=data["password1"] if usable else None,
                            instance=form.instance)
        memberships = [membership_add(user=user, clinic=clinic)
                       for clinic in self._clinics(formsets)]
        for formset in formsets:
            # Read by construct_change_message; the services saved the rows.
            formset.new_objects = memberships if formset.model is ClinicMembership else []
            formset.changed_objects, formset.deleted_objects = [], []

    @staticmethod
    def _clinics(formsets) -> list[Clinic]:
        clinics = []
        for formset in formsets:
            if formset.model is not ClinicMembership:
                continue
            for form in formset.forms:
                cleaned = getattr(form, "cleaned_data", None)
                if not cleaned or not cleaned.get("clinic"):
                    continue
                if cleaned.get(DELETION_FIELD_NAME):
                    continue
                if cleaned["clinic"] not in clinics:
                    clinics.append(cleaned["clinic"])
        return clinics


# Products (one catalogue shared by every clinic) -----------------------------------------


class ProductForm(forms.ModelForm):
    ingredients = IngredientListField(
        required=False, help_text="Ingredient names, separated by commas, as the label writes "
                                  "them. Allergy warnings match them as clinicians name things "
                                  "(salts, forms and synonyms: docs/ingredient-matching.md).",
    )

    class Meta:
        model = Product
        fields = ("name", "kind", "ingredients")


@admin.register(Product)
class ProductAdmin(ScopedChoicesMixin, admin.ModelAdmin):
    form = ProductForm
    list_display = ("name", "kind", "ingredients_column")
    list_filter = ("kind",)
    search_fields = ("name",)

    @admin.display(description="Ingredients")
    def ingredients_column(self, obj):
        return ", ".join(obj.ingredients or [])

    # The shared catalogue: read only for clinic staff; superusers and catalogue
    # managers change it, every change audited (product_create, product_update).
    def has_add_permission(self, request):
        return catalogue_may_change(request.user)

    def has_change_permission(self, request, obj=None):
        return catalogue_may_change(request.user)

    def has_view_permission(self, request, obj=None):
        return (super().has_view_permission(request, obj)
                or self.has_change_permission(request, obj))

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            product_update(product=obj, data=data, actor=request.user)
            obj.refresh_from_db()
        else:
            product_create(name=data["name"], kind=data["kind"],
                           ingredients=data.get("ingredients") or [], actor=request.user,
                           instance=obj)
