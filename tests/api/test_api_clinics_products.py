"""/api/clinics/ (read-only for staff) and /api/products/ (a shared catalogue)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from patients.models import Product
from tests.factories import ClinicFactory, ProductFactory

pytestmark = pytest.mark.django_db

CLINIC_FIELDS = {"id", "name", "timezone", "phone", "email", "send_hour", "on_call_phone"}
PRODUCT_FIELDS = {"id", "name", "kind", "ingredients"}
PAGE_KEYS = {"count", "next", "previous", "results"}


# Clinics ---------------------------------------------------------------------------


def test_it_lists_the_staff_members_clinics_with_the_contract_fields(api, clinic, other_clinic):
    response = api.get("/api/clinics/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == PAGE_KEYS
    assert body["count"] == 1
    assert body["next"] is None and body["previous"] is None
    [listed] = body["results"]
    assert set(listed) == CLINIC_FIELDS
    assert listed == {"id": clinic.pk, "name": "Riverside Skin Clinic",
                      "timezone": "Europe/London", "phone": clinic.phone,
                      "email": clinic.email, "send_hour": 10, "on_call_phone": None}


def test_it_shows_one_of_the_staff_members_clinics(api, clinic):
    response = api.get(f"/api/clinics/{clinic.pk}/")

    assert response.status_code == 200
    assert set(response.json()) == CLINIC_FIELDS


def test_it_hides_another_clinic(api, other_clinic):
    assert api.get(f"/api/clinics/{other_clinic.pk}/").status_code == 404


def test_it_lists_every_clinic_a_staff_member_belongs_to(api, staff, clinic):
    from patients.services import membership_add

    second = ClinicFactory(name="Annex")
    membership_add(user=staff, clinic=second)

    response = api.get("/api/clinics/")

    assert [c["name"] for c in response.json()["results"]] == ["Annex", "Riverside Skin Clinic"]


def test_it_keeps_clinics_read_only_for_staff(api, clinic):
    payload = {"name": "Pop-up", "timezone": "Europe/London", "send_hour": 9}

    created = api.post("/api/clinics/", payload, format="json")
    changed = api.patch(f"/api/clinics/{clinic.pk}/", {"send_hour": 3}, format="json")
    replaced = api.put(f"/api/clinics/{clinic.pk}/", payload, format="json")
    deleted = api.delete(f"/api/clinics/{clinic.pk}/")

    assert created.status_code in (403, 405)
    assert {changed.status_code, replaced.status_code, deleted.status_code} <= {403, 405}
    clinic.refresh_from_db()
    assert clinic.send_hour == 10
    assert clinic.name == "Riverside Skin Clinic"


def test_it_paginates_clinics_for_a_superuser(superuser):
    from rest_framework.test import APIClient

    for n in range(55):
        ClinicFactory(name=f"Clinic {n:02d}")
    client = APIClient()
    client.force_authenticate(superuser)

    first = client.get("/api/clinics/").json()
    second = client.get(first["next"]).json()

    assert first["count"] == 55
    assert len(first["results"]) == 50
    assert first["previous"] is None
    assert first["next"].endswith("/api/clinics/?page=2")
    assert len(second["results"]) == 5
    assert second["next"] is None
    assert second["previous"] is not None


def test_it_says_404_for_a_page_past_the_end(api, clinic):
    assert api.get("/api/clinics/?page=9").status_code == 404
    assert api.get("/api/clinics/?page=zero").status_code == 404


# Products ----------------------------------------------------------------------------
# The shared catalogue: clinic staff read it; superusers and catalogue managers
# change it (revised clinical reference), so the writes below are a manager's.


@pytest.fixture
def manager_api(superuser):
    client = APIClient()
    client.force_authenticate(superuser)
    return client


def test_it_lists_products_with_the_contract_fields(api, outsider_api):
    ProductFactory(name="LidoNumb 5%", kind=Product.Kind.NUMBING_CREAM,
                   ingredients=["lidocaine", "prilocaine"])

    body = api.get("/api/products/").json()

    assert set(body) == PAGE_KEYS
    [listed] = body["results"]
    assert set(listed) == PRODUCT_FIELDS
    assert listed["kind"] == "numbing_cream"
    assert listed["ingredients"] == ["lidocaine", "prilocaine"]
    # The catalogue is shared: every clinic's staff sees it.
    assert outsider_api.get("/api/products/").json()["count"] == 1


@pytest.mark.parametrize("kind", ["numbing_cream", "serum", "growth_factor",
                                  "hyaluronic_acid", "other"])
def test_it_creates_a_product_of_each_kind(manager_api, kind):
    response = manager_api.post("/api/products/", {"name": f"Product {kind}", "kind": kind,
                                           "ingredients": ["glycerin"]}, format="json")

    assert response.status_code == 201, response.json()
    assert set(response.json()) == PRODUCT_FIELDS
    assert Product.objects.get(pk=response.json()["id"]).kind == kind


def test_it_creates_a_product_without_ingredients(manager_api):
    # Was a 500: the service was called without its `ingredients` argument.
    response = manager_api.post("/api/products/", {"name": "Plain", "kind": "other"}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["ingredients"] == []


def test_it_tidies_ingredient_names(manager_api):
    response = manager_api.post("/api/products/", {
        "name": "HydraBoost", "kind": "serum",
        "ingredients": [" Hyaluronic   acid ", "hyaluronic acid", "Glycerin"],
    }, format="json")

    assert response.json()["ingredients"] == ["Hyaluronic acid", "Glycerin"]


@pytest.mark.parametrize(("payload", "field"), [
    ({"name": "X", "kind": "ointment"}, "kind"),
    ({"name": "", "kind": "serum"}, "name"),
    ({"kind": "serum"}, "name"),
    ({"name": "X", "kind": "serum", "ingredients": "lidocaine"}, "ingredients"),
    ({"name": "X", "kind": "serum", "ingredients": ["ok", ""]}, "ingredients"),
    ({"name": "X", "kind": "serum", "ingredients": [{"name": "lidocaine"}]}, "ingredients"),
    ({"name": "X" * 201, "kind": "serum"}, "name"),
])
def test_it_refuses_a_bad_product_naming_the_field(manager_api, payload, field):
    response = manager_api.post("/api/products/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert Product.objects.count() == 0


def test_it_refuses_a_second_product_of_the_same_name(manager_api):
    ProductFactory(name="HydraBoost")

    response = manager_api.post("/api/products/", {"name": "HydraBoost", "kind": "serum"},
                        format="json")

    assert response.status_code == 400
    assert "name" in response.json()


def test_it_updates_a_products_ingredients(manager_api):
    product = ProductFactory(name="HydraBoost", ingredients=["glycerin"])

    response = manager_api.patch(f"/api/products/{product.pk}/",
                         {"ingredients": ["glycerin", "niacinamide"]}, format="json")

    assert response.status_code == 200
    product.refresh_from_db()
    assert product.ingredients == ["glycerin", "niacinamide"]


def test_it_does_not_delete_products(manager_api):
    product = ProductFactory()

    assert manager_api.delete(f"/api/products/{product.pk}/").status_code == 405
    assert Product.objects.filter(pk=product.pk).exists()


@pytest.mark.parametrize("body", ['{"name": "X", "kind": ', "[1, 2]", '"serum"', "null"])
def test_it_answers_a_malformed_product_body_with_400(manager_api, body):
    response = manager_api.post("/api/products/", body, content_type="application/json")

    assert response.status_code == 400


# The catalogue protected -------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_it_refuses_clinic_staff_any_change_to_the_catalogue(api, method):
    product = ProductFactory(name="LidoNumb 5%", ingredients=["lidocaine"])
    url = "/api/products/" if method == "post" else f"/api/products/{product.pk}/"

    response = getattr(api, method)(url, {"name": "LidoNumb 5%", "kind": "numbing_cream",
                                          "ingredients": []}, format="json")

    assert response.status_code == 403
    product.refresh_from_db()
    assert product.ingredients == ["lidocaine"]
    assert Product.objects.count() == 1


def test_it_lets_a_catalogue_manager_change_the_catalogue(clinic):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    manager = UserFactory(username="buyer", clinics=[clinic])
    manager.user_permissions.add(Permission.objects.get(codename="manage_catalogue"))
    client = APIClient()
    client.force_authenticate(manager)
    product = ProductFactory(ingredients=["glycerin"])

    response = client.patch(f"/api/products/{product.pk}/", {"ingredients": ["squalane"]},
                            format="json")

    assert response.status_code == 200, response.json()


def test_it_audits_each_catalogue_change_with_before_and_after(manager_api, superuser):
    from followups.models import AuditEvent

    created = manager_api.post("/api/products/", {"name": "LidoNumb 5%",
                                                  "kind": "numbing_cream",
                                                  "ingredients": ["lidocaine"]}, format="json")
    product_id = created.json()["id"]
    manager_api.patch(f"/api/products/{product_id}/", {"ingredients": []}, format="json")

    events = list(AuditEvent.objects.filter(action=AuditEvent.Action.CHANGE_PRODUCT)
                  .order_by("id"))
    assert [event.actor for event in events] == [superuser, superuser]
    assert events[0].changes["before"] is None
    assert events[0].changes["after"]["ingredients"] == ["lidocaine"]
    assert events[1].changes["before"]["ingredients"] == ["lidocaine"]
    assert events[1].changes["after"]["ingredients"] == []
    assert "LidoNumb 5%" in events[1].target


def test_it_changes_no_past_session_when_a_superuser_edits_a_product(manager_api, api, patient):
    patient.known_allergies = ["lidocaine"]
    patient.save()
    product = ProductFactory(name="LidoNumb 5%", kind=Product.Kind.NUMBING_CREAM,
                             ingredients=["Lidocaine Hydrochloride 4%"])
    created = api.post("/api/sessions/", {
        "patient": patient.pk, "performed_at": "2025-03-01T10:30:00+00:00",
        "treatment_area": "face", "needle_depth_mm": "0.50",
        "products": [{"product": product.pk, "phase": "pre", "lot_number": "L1"}],
    }, format="json").json()

    manager_api.patch(f"/api/products/{product.pk}/", {"ingredients": ["water"]}, format="json")

    session = api.get(f"/api/sessions/{created['id']}/").json()
    assert session["products"][0]["ingredients"] == ["Lidocaine Hydrochloride 4%"]
    assert [w["ingredients"] for w in session["allergy_warnings"]] == [
        ["Lidocaine Hydrochloride 4%"]
    ]
