"""Clinic isolation in the admin, walked for every registered model.

The `staff` persona of one clinic tries to reach the other clinic's objects
every way the admin offers: the change list, the change/history/delete pages,
search, autocomplete, the choices of the add and change forms, every action,
the CSV export and the photo view. A model registered without a declared
clinic scope fails the first test.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin import RelatedFieldListFilter
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import ForeignKey, ManyToManyField
from django.forms import ModelChoiceField
from django.test import RequestFactory
from django.urls import reverse

from followups.models import AuditEvent, CheckInResponse
from patients.admin_scoping import ClinicScopedAdminMixin

pytestmark = pytest.mark.django_db

REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
LABELS = [model._meta.label for model, _ in REGISTRY]

# Not clinic data, by design; staff have no permission on them at all.
SUPERUSER_ONLY = {
    "auth.User": "clinics and users are managed by superusers",
    "auth.Group": "permissions are managed by superusers",
    "knox.AuthToken": "API tokens are managed by superusers",
    "otp_totp.TOTPDevice": "second factors are reset by superusers",
    "otp_static.StaticDevice": "recovery codes are reset by superusers",
    "axes.AccessAttempt": "sign-in lockouts are lifted by superusers",
    "axes.AccessFailureLog": "failed sign-ins are read by superusers",
    "axes.AccessLog": "sign-ins are read by superusers",
    "followups.AuditEvent": "the audit trail is read by superusers only",
}
# Shared by every clinic, by design.
SHARED = {"patients.Product": "the product catalogue"}


def admin_for(label):
    model = apps.get_model(label)
    return model, admin.site._registry[model]


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def others(label, other_world, outsider):
    if label == "auth.User":
        return [outsider]
    return other_world.of(label)


def listing_params(model) -> dict:
    # The queue hides resolved rows by default; look at everything.
    return {"status": "all"} if model._meta.label == "followups.Escalation" else {}


def snapshot(objects):
    return [
        tuple(getattr(fresh, field.attname) for field in fresh._meta.concrete_fields)
        for fresh in (type(obj)._default_manager.get(pk=obj.pk) for obj in objects)
    ]


def search_term(model_admin, obj) -> str | None:
    """A value of one of the admin's search fields on ``obj``, to search for it."""
    for path in model_admin.search_fields:
        value = obj
        for part in path.lstrip("^=@").split("__"):
            value = getattr(value, part, None)
            if value is None:
                break
        if isinstance(value, str) and value:
            return value
    return None


def test_it_declares_a_clinic_scope_for_every_registered_model():
    undeclared = [
        model._meta.label for model, model_admin in REGISTRY
        if not isinstance(model_admin, ClinicScopedAdminMixin)
        and model._meta.label not in SUPERUSER_ONLY and model._meta.label not in SHARED
    ]
    assert undeclared == []
    for model, model_admin in REGISTRY:
        if isinstance(model_admin, ClinicScopedAdminMixin):
            # The declared path really leads to a clinic.
            model._default_manager.filter(**{f"{model_admin.clinic_lookup}__in": []}).exists()


@pytest.mark.parametrize("label", LABELS)
def test_it_keeps_another_clinics_objects_out_of_reach(label, client, staff, superuser, outsider,
                                                       own_world, other_world, subtests):
    model, model_admin = admin_for(label)
    foreign = others(label, other_world, outsider)
    foreign_pks = {obj.pk for obj in foreign}
    client.force_login(staff)
    changelist = url(model, "changelist")

    with subtests.test("change list"):
        response = client.get(changelist, listing_params(model))
        if label in SUPERUSER_ONLY:
            assert response.status_code == 403
        else:
            assert response.status_code == 200
            cl = response.context["cl"]
            listed = {obj.pk for obj in cl.result_list}
            if label not in SHARED:
                assert foreign_pks
                assert not listed & foreign_pks
                assert not set(cl.root_queryset.values_list("pk", flat=True)) & foreign_pks
                # Positive control: the clinic's own rows are there.
                assert {obj.pk for obj in own_world.of(label)} <= listed
            for spec in cl.filter_specs:
                if isinstance(spec, RelatedFieldListFilter):
                    target = spec.field.remote_field.model._meta.label
                    if target in SHARED:
                        continue
                    offered = {pk for pk, _ in spec.lookup_choices}
                    foreign_choices = {obj.pk for obj in others(target, other_world, outsider)}
                    assert foreign_choices and not offered & foreign_choices, spec.title

    with subtests.test("change, history and delete pages"):
        for obj in foreign:
            for view in ("change", "history", "delete"):
                response = client.get(url(model, view, obj.pk))
                if label in SUPERUSER_ONLY:
                    # Refused, or (scoped admins look the object up first) not found.
                    assert response.status_code in (403, 404), (view, obj)
                elif label in SHARED:
                    assert response.status_code in (200, 403), (view, obj)
                else:
                    assert response.status_code == 404, (view, obj)
            if label not in SUPERUSER_ONLY and label not in SHARED:
                response = client.post(url(model, "change", obj.pk), {})
                assert response.status_code == 404

    term = search_term(model_admin, foreign[0]) if foreign else None
    with subtests.test("search", term=term):
        if term and label not in SHARED:
            response = client.get(changelist, {"q": term, **listing_params(model)})
            if label in SUPERUSER_ONLY:
                assert response.status_code == 403
            else:
                found = {obj.pk for obj in response.context["cl"].result_list}
                assert not found & foreign_pks
                request = RequestFactory().get(changelist)
                request.user = staff
                queryset, _ = model_admin.get_search_results(
                    request, model._default_manager.all(), term
                )
                assert not set(queryset.values_list("pk", flat=True)) & foreign_pks
            # The term is a real one: a superuser finds the object with it.
            superuser_request = RequestFactory().get(changelist)
            superuser_request.user = superuser
            queryset, _ = model_admin.get_search_results(
                superuser_request, model._default_manager.all(), term
            )
            assert set(queryset.values_list("pk", flat=True)) & foreign_pks

    sources = [
        (source, field) for source in apps.get_models() for field in source._meta.get_fields()
        if isinstance(field, ForeignKey | ManyToManyField) and field.remote_field.model is model
    ]
    with subtests.test("autocomplete", sources=len(sources)):
        if term and sources and model_admin.search_fields and label not in SHARED:
            source, field = sources[0]
            params = {"app_label": source._meta.app_label, "model_name": source._meta.model_name,
                      "field_name": field.name, "term": term}
            response = client.get(reverse("admin:autocomplete"), params)
            if label in SUPERUSER_ONLY:
                assert response.status_code == 403
            else:
                assert response.status_code == 200
                returned = {int(item["id"]) for item in response.json()["results"]}
                assert not returned & foreign_pks
            client.force_login(superuser)
            control = client.get(reverse("admin:autocomplete"), params).json()["results"]
            assert {int(item["id"]) for item in control} & foreign_pks
            client.force_login(staff)

    with subtests.test("choices on the add and change forms"):
        pages = [url(model, "add")]
        if own_world.of(label):
            pages.append(url(model, "change", own_world.of(label)[0].pk))
        for page in pages:
            response = client.get(page)
            if response.status_code == 403:
                continue  # no add (or view) permission: no form to pick from
            if page.endswith("/checkinresponse/add/") and response.status_code == 302:
                continue  # answers are taken from their check-in's page: no form here
            assert response.status_code == 200, page
            forms = [response.context["adminform"].form]
            for inline in response.context["inline_admin_formsets"]:
                forms += [*inline.formset.forms, inline.formset.empty_form]
            for form in forms:
                for name, form_field in form.fields.items():
                    if not isinstance(form_field, ModelChoiceField):
                        continue
                    if name == form._meta.model._meta.pk.name:
                        # An inline row's own hidden id: Django resolves it within
                        # the parent's rows, never offers it as a choice.
                        continue
                    target = form_field.queryset.model._meta.label
                    if target in SHARED:
                        continue
                    foreign_choices = {obj.pk for obj in others(target, other_world, outsider)}
                    offered = set(form_field.queryset.values_list("pk", flat=True))
                    assert not offered & foreign_choices, (page, name)

    with subtests.test("actions"):
        request = RequestFactory().get(changelist)
        request.user = staff
        actions = model_admin.get_actions(request) if label not in SUPERUSER_ONLY else {}
        before, events_before = snapshot(foreign), AuditEvent.objects.count()
        for name in actions:
            selected = {ACTION_CHECKBOX_NAME: [str(pk) for pk in foreign_pks]}
            first = client.post(changelist, {"action": name, "index": 0, **selected})
            assert first.status_code in (200, 302)
            # The confirmation step of actions that ask for more (resolve's note).
            client.post(changelist, {"action": name, "post": "yes", "note": "done", **selected})
        if label in SUPERUSER_ONLY and foreign:
            response = client.post(changelist, {"action": "delete_selected", "index": 0,
                                                ACTION_CHECKBOX_NAME: [foreign[0].pk]})
            assert response.status_code == 403
        assert snapshot(foreign) == before
        assert AuditEvent.objects.count() == events_before


def test_it_answers_404_for_another_clinics_photo(client, staff, own_world, other_world):
    client.force_login(staff)
    foreign = next(r for r in other_world.of("followups.CheckInResponse") if r.photo)
    own = next(r for r in own_world.of("followups.CheckInResponse") if r.photo)

    assert client.get(url(CheckInResponse, "photo", foreign.pk)).status_code == 404
    assert client.get(url(CheckInResponse, "photo", own.pk)).status_code == 200
    assert not AuditEvent.objects.filter(action="view_photo", clinic=other_world.clinic).exists()


def test_it_answers_404_for_an_export_of_another_clinic(client, staff, own_world, other_world):
    client.force_login(staff)
    exports = reverse("admin:exports")
    form = {"what": "queue", "start": "2000-01-01", "end": "2000-12-31"}

    assert client.get(exports, {"clinic": other_world.clinic.pk}).status_code == 404
    response = client.post(exports, {**form, "clinic": other_world.clinic.pk})
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="export").exists()


@pytest.mark.parametrize("what", ["queue", "answers"])
def test_it_exports_only_the_users_clinics(client, staff, own_world, other_world, what):
    from datetime import timedelta

    from django.utils import timezone

    client.force_login(staff)
    today = timezone.localdate()
    response = client.post(reverse("admin:exports"), {
        "what": what, "start": (today - timedelta(days=30)).isoformat(),
        "end": (today + timedelta(days=1)).isoformat(),
    })

    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert "Ownfirst0" in body
    assert "Zedd" not in body
