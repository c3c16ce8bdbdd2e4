"""/api/patients/: a clinic's patients, scoped to the staff member's clinics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from followups.escalations.services import escalation_acknowledge, escalation_resolve
from followups.models import Escalation
from patients.models import Patient
from tests.factories import PatientFactory, response_for, session_with_checkins

pytestmark = pytest.mark.django_db

PATIENT_FIELDS = {"id", "clinic", "first_name", "last_name", "email", "phone", "date_of_birth",
                  "known_allergies", "acne_prone", "language", "contact_by", "opted_out", "notes",
                  "open_escalation_level"}
PAGE_KEYS = {"count", "next", "previous", "results"}


def new_patient(in_clinic, **overrides):
    return {"clinic": in_clinic.pk, "first_name": "Ines", "last_name": "Duarte",
            "email": "ines@mail.example", "phone": "+44 7400 123123",
            "date_of_birth": "1990-04-12", "known_allergies": ["Lidocaine"],
            "acne_prone": True, "notes": "Prefers phone calls.", **overrides}


# Reading ----------------------------------------------------------------------------


def test_it_lists_patients_with_the_contract_fields(api, patient):
    response = api.get("/api/patients/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == PAGE_KEYS
    assert body["count"] == 1
    [listed] = body["results"]
    assert set(listed) == PATIENT_FIELDS
    assert listed["id"] == patient.pk
    assert listed["clinic"] == patient.clinic_id
    assert listed["known_allergies"] == []
    assert listed["open_escalation_level"] == "none"


def test_it_shows_a_patient_with_the_contract_fields(api, patient):
    response = api.get(f"/api/patients/{patient.pk}/")

    assert response.status_code == 200
    assert set(response.json()) == PATIENT_FIELDS
    assert response.json()["first_name"] == "Maya"


def test_it_shows_only_the_staff_members_clinics_patients(api, outsider_api, patient,
                                                        other_clinic):
    theirs = PatientFactory(clinic=other_clinic)

    assert [p["id"] for p in api.get("/api/patients/").json()["results"]] == [patient.pk]
    assert [p["id"] for p in outsider_api.get("/api/patients/").json()["results"]] == [theirs.pk]
    assert api.get(f"/api/patients/{theirs.pk}/").status_code == 404
    assert outsider_api.get(f"/api/patients/{patient.pk}/").status_code == 404


def test_it_says_404_for_a_patient_that_does_not_exist(api, clinic):
    assert api.get("/api/patients/999999/").status_code == 404
    assert api.get("/api/patients/not-a-number/").status_code == 404


def test_it_paginates_patients(api, clinic):
    for n in range(53):
        PatientFactory(clinic=clinic, last_name=f"Name{n:02d}")

    first = api.get("/api/patients/").json()
    second = api.get("/api/patients/?page=2").json()

    assert first["count"] == 53
    assert len(first["results"]) == 50
    assert first["next"].endswith("page=2")
    assert len(second["results"]) == 3
    assert second["next"] is None


# Filters ------------------------------------------------------------------------------


def test_it_filters_by_clinic(superuser, clinic, other_clinic):
    from rest_framework.test import APIClient

    ours = PatientFactory(clinic=clinic)
    PatientFactory(clinic=other_clinic)
    client = APIClient()
    client.force_authenticate(superuser)

    response = client.get(f"/api/patients/?clinic={clinic.pk}")

    assert [p["id"] for p in response.json()["results"]] == [ours.pk]


def test_it_finds_nothing_when_filtering_by_someone_elses_clinic(api, patient, other_clinic):
    PatientFactory(clinic=other_clinic)

    response = api.get(f"/api/patients/?clinic={other_clinic.pk}")

    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.parametrize(("term", "expected"), [
    ("quint", ["Maya"]),            # last name, any case
    ("MAY", ["Maya"]),              # first name
    ("alba@mail", ["Alba"]),        # email
    ("  alba  ", ["Alba"]),         # trimmed
    ("zz-nobody", []),
])
def test_it_searches_names_and_email(api, patient, clinic, term, expected):
    PatientFactory(clinic=clinic, first_name="Alba", last_name="Reyes",
                   email="alba@mail.example")

    response = api.get("/api/patients/", {"search": term})

    assert [p["first_name"] for p in response.json()["results"]] == expected


def test_it_never_searches_across_clinics(api, patient, other_clinic):
    PatientFactory(clinic=other_clinic, first_name="Maya", last_name="Outside")

    response = api.get("/api/patients/", {"search": "maya"})

    assert [p["id"] for p in response.json()["results"]] == [patient.pk]


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1.5", "99999999999999999999999"])
def test_it_refuses_a_bad_clinic_filter_naming_it(api, patient, value):
    response = api.get("/api/patients/", {"clinic": value})

    assert response.status_code == 400
    assert "clinic" in response.json()


def test_it_refuses_a_search_with_a_nul_character(api, patient):
    # PostgreSQL cannot compare text with NUL in it: a 400, not a 500.
    response = api.get("/api/patients/", {"search": "ma\x00ya"})

    assert response.status_code == 400
    assert "search" in response.json()


# Writing ------------------------------------------------------------------------------


def test_it_creates_a_patient_in_the_staff_members_clinic(api, clinic):
    response = api.post("/api/patients/", new_patient(clinic), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == PATIENT_FIELDS
    assert body["open_escalation_level"] == "none"
    assert body["known_allergies"] == ["Lidocaine"]
    stored = Patient.objects.get(pk=body["id"])
    assert stored.clinic == clinic
    assert stored.acne_prone is True
    assert str(stored.date_of_birth) == "1990-04-12"


def test_it_refuses_to_write_a_patient_into_a_clinic_not_theirs(api, other_clinic):
    response = api.post("/api/patients/", new_patient(other_clinic), format="json")

    assert response.status_code == 400
    assert "clinic" in response.json()
    assert not Patient.objects.exists()


def test_it_refuses_to_move_a_patient_into_a_clinic_not_theirs(api, patient, other_clinic):
    response = api.patch(f"/api/patients/{patient.pk}/", {"clinic": other_clinic.pk},
                         format="json")

    assert response.status_code == 400
    assert "clinic" in response.json()
    patient.refresh_from_db()
    assert patient.clinic_id != other_clinic.pk


def test_it_refuses_a_clinic_that_does_not_exist(api, clinic):
    response = api.post("/api/patients/", new_patient(clinic, clinic=987654), format="json")

    assert response.status_code == 400
    assert "clinic" in response.json()


def test_it_lets_a_superuser_write_into_any_clinic(superuser, other_clinic):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(superuser)

    response = client.post("/api/patients/", new_patient(other_clinic), format="json")

    assert response.status_code == 201


def test_it_updates_a_patients_allergies(api, patient):
    response = api.patch(f"/api/patients/{patient.pk}/",
                         {"known_allergies": ["Lidocaine", " lidocaine ", "Benzocaine"]},
                         format="json")

    assert response.status_code == 200
    assert response.json()["known_allergies"] == ["Lidocaine", "Benzocaine"]
    patient.refresh_from_db()
    assert patient.known_allergies == ["Lidocaine", "Benzocaine"]


@pytest.mark.parametrize("allergies", [["cream"], ["Lidocaine", "acid"], ["gel", "sérum"],
                                       ["ácido"], ["vitamins"]])
def test_it_refuses_an_allergy_that_names_no_substance_naming_the_field(api, clinic,
                                                                        allergies):
    response = api.post("/api/patients/", new_patient(clinic, known_allergies=allergies),
                        format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["known_allergies"]
    [message] = response.json()["known_allergies"]
    vague = [name for name in allergies if name != "Lidocaine"]
    assert all(f"'{name}'" in message for name in vague)
    assert "'Lidocaine'" not in message
    assert "ingredient's name" in message
    assert not Patient.objects.exists()


def test_it_refuses_to_change_allergies_to_a_name_of_no_substance(api, patient):
    patient.known_allergies = ["Lidocaine"]
    patient.save()

    response = api.patch(f"/api/patients/{patient.pk}/",
                         {"known_allergies": ["Lidocaine", "cream"]}, format="json")

    assert response.status_code == 400
    assert "known_allergies" in response.json()
    patient.refresh_from_db()
    assert patient.known_allergies == ["Lidocaine"]


def test_it_accepts_allergies_in_any_of_our_languages_and_brands(api, clinic):
    allergies = ["lidocaína", "parabènes", "EMLA", "aloe vera", "numbing cream"]

    response = api.post("/api/patients/", new_patient(clinic, known_allergies=allergies),
                        format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["known_allergies"] == allergies


def test_it_keeps_a_vague_allergy_recorded_before_unless_the_allergies_are_written(api,
                                                                                  patient):
    Patient.objects.filter(pk=patient.pk).update(known_allergies=["cream"])

    other_field = api.patch(f"/api/patients/{patient.pk}/", {"notes": "Called."},
                            format="json")
    allergies = api.patch(f"/api/patients/{patient.pk}/", {"known_allergies": ["cream"]},
                          format="json")

    assert other_field.status_code == 200
    assert allergies.status_code == 400 and "known_allergies" in allergies.json()
    patient.refresh_from_db()
    assert (patient.notes, patient.known_allergies) == ("Called.", ["cream"])


def test_it_replaces_a_patient_with_put(api, patient, clinic):
    response = api.put(f"/api/patients/{patient.pk}/",
                       new_patient(clinic, first_name="Maia"), format="json")

    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.first_name == "Maia"


def test_it_cannot_touch_another_clinics_patient(outsider_api, patient):
    response = outsider_api.patch(f"/api/patients/{patient.pk}/", {"notes": "mine now"},
                                  format="json")

    assert response.status_code == 404
    patient.refresh_from_db()
    assert patient.notes == ""


def test_it_does_not_delete_patients(api, patient):
    assert api.delete(f"/api/patients/{patient.pk}/").status_code == 405
    assert Patient.objects.filter(pk=patient.pk).exists()


@pytest.mark.parametrize(("override", "field"), [
    ({"email": "not-an-email"}, "email"),
    ({"email": ""}, "email"),
    ({"first_name": ""}, "first_name"),
    ({"first_name": None}, "first_name"),
    ({"first_name": "x" * 101}, "first_name"),
    ({"date_of_birth": "12/04/1990"}, "date_of_birth"),
    ({"acne_prone": "sometimes"}, "acne_prone"),
    ({"known_allergies": "lidocaine"}, "known_allergies"),
    ({"known_allergies": ["ok", 5.5, {"a": 1}]}, "known_allergies"),
    ({"known_allergies": [""]}, "known_allergies"),
    ({"clinic": "riverside"}, "clinic"),
    ({"clinic": None}, "clinic"),
    ({"clinic": [1]}, "clinic"),
])
def test_it_refuses_bad_fields_naming_them(api, clinic, override, field):
    response = api.post("/api/patients/", new_patient(clinic, **override), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Patient.objects.exists()


def test_it_ignores_a_written_open_escalation_level(api, clinic):
    response = api.post("/api/patients/", new_patient(clinic, open_escalation_level="urgent"),
                        format="json")

    assert response.status_code == 201
    assert response.json()["open_escalation_level"] == "none"


@pytest.mark.parametrize("body", ['{"first_name": "Ines"', "[]", "42", '"text"', "{,}"])
def test_it_answers_malformed_json_with_400(api, clinic, body):
    response = api.post("/api/patients/", body, content_type="application/json")

    assert response.status_code == 400


def test_it_answers_a_body_of_the_wrong_media_type_with_415(api, clinic):
    response = api.post("/api/patients/", "<patient/>", content_type="application/xml")

    assert response.status_code == 415


# The open escalation level -----------------------------------------------------------------


def level_of(api, patient) -> str:
    detail = api.get(f"/api/patients/{patient.pk}/").json()["open_escalation_level"]
    listed = {p["id"]: p["open_escalation_level"]
              for p in api.get("/api/patients/").json()["results"]}
    assert listed[patient.pk] == detail
    return detail


def test_it_shows_urgent_while_an_urgent_escalation_is_not_resolved(api, staff, patient):
    session = session_with_checkins(patient=patient, practitioner=staff)
    response_for(session.checkins.get(day=2), fever=True)
    escalation = Escalation.objects.get()
    assert level_of(api, patient) == "urgent"

    escalation_acknowledge(escalation=escalation, actor=staff)
    assert level_of(api, patient) == "urgent"  # seen, but not yet looked after

    escalation_resolve(escalation=escalation, actor=staff, note="Called; GP visit booked.")
    assert level_of(api, patient) == "none"


def test_it_shows_review_for_a_review_escalation(api, staff, patient):
    session = session_with_checkins(patient=patient, practitioner=staff)
    response_for(session.checkins.get(day=2), hives=True)

    assert Escalation.objects.get().level == "review"
    assert level_of(api, patient) == "review"


def test_it_shows_the_highest_open_level(api, staff, patient):
    # Day 7 has fallen due too: its answers are taken from then.
    session = session_with_checkins(patient=patient, practitioner=staff,
                                    performed_at=timezone.now() - timedelta(days=8))
    response_for(session.checkins.get(day=2), hives=True)
    response_for(session.checkins.get(day=7), pus=True)
    urgent = Escalation.objects.get(level="urgent")

    assert level_of(api, patient) == "urgent"
    escalation_resolve(escalation=urgent, actor=staff, note="Antibiotics prescribed.")
    assert level_of(api, patient) == "review"


def test_it_shows_none_for_a_patient_whose_answers_were_normal(api, staff, patient):
    session = session_with_checkins(patient=patient, practitioner=staff)
    response_for(session.checkins.get(day=2))

    assert not Escalation.objects.exists()
    assert level_of(api, patient) == "none"


def test_it_keeps_the_level_when_a_patient_is_updated(api, staff, patient):
    session = session_with_checkins(patient=patient, practitioner=staff)
    response_for(session.checkins.get(day=2), fever=True)

    response = api.patch(f"/api/patients/{patient.pk}/", {"notes": "Called twice."},
                         format="json")

    assert response.json()["open_escalation_level"] == "urgent"


def test_it_counts_a_long_list_only_ten_pages_ahead_and_pages_through_all_of_it(
        api, clinic, monkeypatch):
    """Past ten pages of the one asked for, "count" is left out (it is not cheap there);
    "next" still leads to every row, and ``?page=last`` counts the whole list."""
    from core.pagination import CappedCountPagination, CappedCountPaginator

    monkeypatch.setattr(CappedCountPagination, "page_size", 2)
    monkeypatch.setattr(CappedCountPaginator, "pages_ahead", 1)
    for n in range(7):
        PatientFactory(clinic=clinic, last_name=f"Name{n:02d}")

    first = api.get("/api/patients/").json()
    assert "count" not in first and first["next"].endswith("page=2")
    seen, url = [], "/api/patients/"
    while url:
        body = api.get(url).json()
        seen += [row["last_name"] for row in body["results"]]
        url = body["next"]
    assert seen == [f"Name{n:02d}" for n in range(7)]
    assert api.get("/api/patients/?page=3").json()["count"] == 7  # ends within a page
    last = api.get("/api/patients/?page=last").json()
    assert (last["count"], [row["last_name"] for row in last["results"]]) == (7, ["Name06"])
    assert api.get("/api/patients/?page=x").status_code == 404
