from datetime import timedelta

import pytest
from django.utils import timezone

from followups.models import CheckIn
from patients.models import Product, ProductApplication, TreatmentSession
from tests.factories import PatientFactory, ProductFactory, session_with_checkins

pytestmark = pytest.mark.django_db


@pytest.fixture
def lidocaine_cream():
    return ProductFactory(name="LidoNumb 5%", kind=Product.Kind.NUMBING_CREAM,
                          ingredients=["Lidocaine", "prilocaine"])


@pytest.fixture
def serum():
    return ProductFactory(name="HydraBoost", kind=Product.Kind.HYALURONIC_ACID,
                          ingredients=["hyaluronic acid"])


def session_payload(patient, *products, **overrides):
    return {
        "patient": patient.pk,
        "performed_at": (timezone.now() - timedelta(days=1)).isoformat(),
        "treatment_area": "face",
        "device": "Dermapen 4",
        "needle_depth_mm": "0.50",
        "products": [{"product": p.pk, "phase": "pre", "lot_number": f"L{p.pk}"}
                     for p in products],
        **overrides,
    }


def test_it_warns_when_a_product_contains_a_known_allergen(api, clinic, lidocaine_cream, serum):
    patient = PatientFactory(clinic=clinic, known_allergies=["lidocaine"])

    response = api.post("/api/sessions/", session_payload(patient, lidocaine_cream, serum),
                        format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert [w["product_name"] for w in body["allergy_warnings"]] == ["LidoNumb 5%"]
    assert body["allergy_warnings"][0]["ingredients"] == ["Lidocaine"]
    assert sorted(c["day"] for c in body["checkins"]) == [2, 7]
    assert {c["status"] for c in body["checkins"]} == {"scheduled"}


def test_it_creates_the_session_products_and_checkins_together(api, patient, serum):
    response = api.post("/api/sessions/", session_payload(patient, serum), format="json")

    assert response.status_code == 201
    session = TreatmentSession.objects.get(pk=response.json()["id"])
    assert session.applications.count() == 1
    assert CheckIn.objects.filter(session=session).count() == 2


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"performed_at": "yesterday-ish"}, "performed_at"),
        ({"needle_depth_mm": "-0.5"}, "needle_depth_mm"),
        ({"needle_depth_mm": "3.5"}, "needle_depth_mm"),
    ],
)
def test_it_rejects_bad_input_naming_the_field(api, patient, serum, override, field):
    response = api.post("/api/sessions/", session_payload(patient, serum, **override),
                        format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert TreatmentSession.objects.count() == 0


def test_it_writes_nothing_when_one_product_is_invalid(api, patient, serum):
    payload = session_payload(patient, serum)
    payload["products"].append({"product": serum.pk, "phase": "later", "lot_number": "X"})

    response = api.post("/api/sessions/", payload, format="json")

    assert response.status_code == 400
    assert "products" in response.json()
    assert TreatmentSession.objects.count() == 0
    assert ProductApplication.objects.count() == 0
    assert CheckIn.objects.count() == 0


def test_it_hides_another_clinics_session(api, outsider_api, patient, serum):
    created = api.post("/api/sessions/", session_payload(patient, serum), format="json").json()

    assert outsider_api.get(f"/api/sessions/{created['id']}/").status_code == 404
    assert outsider_api.get(f"/api/patients/{patient.pk}/").status_code == 404


def test_it_refuses_a_session_for_another_clinics_patient(outsider_api, patient, serum):
    response = outsider_api.post("/api/sessions/", session_payload(patient, serum), format="json")

    assert response.status_code == 400
    assert "patient" in response.json()


# Filters ------------------------------------------------------------------------------


def test_it_filters_sessions_by_patient_and_clinic(superuser, clinic, other_clinic, patient):
    from rest_framework.test import APIClient

    ours = session_with_checkins(patient=patient)
    neighbour = session_with_checkins(patient=PatientFactory(clinic=clinic))
    theirs = session_with_checkins(patient=PatientFactory(clinic=other_clinic))
    client = APIClient()
    client.force_authenticate(superuser)

    def listed(query: str) -> set[int]:
        response = client.get(f"/api/sessions/?{query}")
        assert response.status_code == 200, response.json()
        return {s["id"] for s in response.json()["results"]}

    assert listed(f"patient={patient.pk}") == {ours.pk}
    assert listed(f"clinic={clinic.pk}") == {ours.pk, neighbour.pk}
    assert listed(f"clinic={other_clinic.pk}") == {theirs.pk}
    assert listed(f"clinic={other_clinic.pk}&patient={patient.pk}") == set()


def test_it_finds_no_session_of_someone_elses_clinic_by_filtering(api, other_clinic):
    theirs = session_with_checkins(patient=PatientFactory(clinic=other_clinic))

    by_patient = api.get("/api/sessions/", {"patient": theirs.patient_id})
    by_clinic = api.get("/api/sessions/", {"clinic": other_clinic.pk})

    assert (by_patient.status_code, by_patient.json()["count"]) == (200, 0)
    assert (by_clinic.status_code, by_clinic.json()["count"]) == (200, 0)


@pytest.mark.parametrize(("param", "value"), [
    ("patient", "abc"), ("patient", "0"), ("patient", "1.0"), ("clinic", "-1"),
    ("clinic", "9223372036854775808"),
])
def test_it_refuses_a_bad_session_filter_naming_it(api, patient, param, value):
    response = api.get("/api/sessions/", {param: value})

    assert response.status_code == 400
    assert param in response.json()
