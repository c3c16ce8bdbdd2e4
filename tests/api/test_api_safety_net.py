"""Through the staff API: comments read, allergies as clinicians name them, watch and day 10."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from followups.models import CheckIn, CheckInResponse, Escalation
from patients.models import Product
from tests.factories import ProductFactory, session_with_checkins

pytestmark = pytest.mark.django_db

QUIET = {"rash": "none", "breakouts": "none", "itching": "none", "swelling": "none",
         "pain": "none", "fever": False, "pus": False, "hives": False}


def answer(api, checkin, **answers):
    return api.post(f"/api/checkins/{checkin.pk}/response/", {**QUIET, **answers},
                    format="json")


@pytest.fixture
def session(staff, patient):
    # Performed ten days ago: day 2 and day 7 have fallen due (answers for a check-in
    # are taken from its due time), and a day-10 check-in is due at once.
    return session_with_checkins(patient=patient, practitioner=staff,
                                 performed_at=timezone.now() - timedelta(days=10))


# One validation for the API and the form -----------------------------------------------


@pytest.mark.parametrize("trend", ["rash_trend", "breakouts_trend"])
def test_it_refuses_a_trend_for_a_symptom_rated_none_naming_the_field(api, session, trend):
    response = answer(api, session.checkins.get(day=2), **{trend: "worse"})

    assert response.status_code == 400
    assert list(response.json()) == [trend]
    assert not Escalation.objects.exists()


# Comments read ---------------------------------------------------------------------------


@pytest.mark.parametrize(("comment", "matched"), [
    ("my face is swollen shut", '"swollen"'),
    ("I have a fever of 39", '"fever"'),
    ("yellow smelly pus from the spots", '"pus", "smelly"'),
])
def test_it_flags_a_worrying_comment_whatever_the_ratings_say(api, session, comment, matched):
    response = answer(api, session.checkins.get(day=2), comments=comment)

    assessment = response.json()["assessment"]
    assert assessment["level"] == "review"
    [reason] = assessment["reasons"]
    assert reason["code"] == "COMMENT_CONCERN"
    assert matched in reason["message"]
    assert Escalation.objects.get().level == "review"


def test_it_makes_a_throat_word_in_a_comment_urgent(api, session):
    response = answer(api, session.checkins.get(day=2), comments="my tongue feels thick")

    assert response.json()["assessment"]["level"] == "urgent"
    assert Escalation.objects.get().level == "urgent"


def test_it_reads_a_french_patients_comment_in_french(api, session, patient):
    patient.language = "fr"
    patient.save()

    response = answer(api, session.checkins.get(day=2), comments="J'ai de la fièvre, merci")

    assert response.json()["assessment"]["reasons"][0]["code"] == "COMMENT_CONCERN"


def test_it_reads_an_emergency_written_in_another_language_than_the_patients(api, session):
    response = answer(api, session.checkins.get(day=2),
                      comments="Labios hinchados y me falta el aire")

    assessment = response.json()["assessment"]
    assert assessment["level"] == "urgent"
    assert '"falta el aire", "Labios hinchados"' in assessment["reasons"][0]["message"]
    assert Escalation.objects.get().level == "urgent"


def test_it_keeps_the_words_as_the_patient_wrote_them(api, session):
    response = answer(api, session.checkins.get(day=2), comments="Fevr last night, temp 39")

    [reason] = response.json()["assessment"]["reasons"]
    assert '"Fevr", "temp", "39"' in reason["message"]


def test_it_puts_a_comment_denying_a_warning_sign_in_front_of_a_person(api, session, patient):
    patient.language = "fr"
    patient.save()
    checkin = session.checkins.get(day=2)

    response = answer(api, checkin, comments="Pas de fièvre, merci")

    assert response.json()["assessment"] == {"level": "none", "reasons": []}
    assert not Escalation.objects.exists()
    assert CheckInResponse.objects.get(checkin=checkin).comment_waiting


# Watch and day 10 ------------------------------------------------------------------------


def test_it_schedules_day_10_and_no_call_for_a_mild_improving_rash_at_day_7(api, session):
    answer(api, session.checkins.get(day=2), rash="moderate", rash_trend="same")

    response = answer(api, session.checkins.get(day=7), rash="mild", rash_trend="better")

    assert response.json()["assessment"]["level"] == "watch"
    assert not Escalation.objects.filter(checkin__day=7).exists()
    listed = api.get("/api/checkins/", {"session": session.pk, "day": 10}).json()["results"]
    assert [(checkin["day"], checkin["status"]) for checkin in listed] == [(10, "scheduled")]
    session_body = api.get(f"/api/sessions/{session.pk}/").json()
    assert [checkin["day"] for checkin in session_body["checkins"]] == [2, 7, 10]


def test_it_raises_rash_persists_for_a_rash_at_day_10(afternoon, api, session):
    answer(api, session.checkins.get(day=7), rash="mild", rash_trend="better")

    response = answer(api, session.checkins.get(day=10), rash="mild", rash_trend="better")

    assert response.status_code == 201
    assessment = response.json()["assessment"]
    assert assessment["level"] == "review"
    assert [reason["code"] for reason in assessment["reasons"]] == ["RASH_PERSISTS"]
    assert Escalation.objects.get(checkin__day=10).level == "review"


def test_it_refuses_an_unknown_day_filter(api, session):
    response = api.get("/api/checkins/", {"day": 9})

    assert response.status_code == 400
    assert "day" in response.json()


# Allergies: warned before saving, flagged after -----------------------------------------

ALLERGY_CASES = [
    ("lidocaine", "Lidocaine Hydrochloride 4%"),
    ("Lidocaine HCl", "Lidocaine"),
    ("aloe", "Aloe Barbadensis Leaf Juice"),
    ("hyaluronic acid", "Sodium Hyaluronate"),
    # Revised reference: the patient's language, brands, aloe vera.
    ("Lidocaína", "Lidocaine Hydrochloride"),
    ("acide hyaluronique", "Sodium Hyaluronate"),
    ("parabenos", "Methylparaben"),
    ("EMLA", "Prilocaine 2.5%"),
    ("aloe vera", "Aloe Barbadensis Leaf Juice"),
]


@pytest.mark.parametrize(("allergy", "ingredient"), ALLERGY_CASES,
                         ids=[case[0] for case in ALLERGY_CASES])
def test_it_warns_before_saving_and_flags_after(api, patient, allergy, ingredient):
    patient.known_allergies = [allergy]
    patient.save()
    product = ProductFactory(name="Chosen product", kind=Product.Kind.SERUM,
                             ingredients=["Water", ingredient])
    products = [{"product": product.pk, "phase": "post", "lot_number": "L-7"}]

    before = api.post("/api/sessions/allergy-warnings/",
                      {"patient": patient.pk, "products": products}, format="json")

    assert before.status_code == 200, before.json()
    [warning] = before.json()["allergy_warnings"]
    assert warning["ingredients"] == [ingredient]
    assert warning["product"] == product.pk and warning["lot_number"] == "L-7"
    assert warning["matches"] == [{"allergy": allergy, "ingredient": ingredient}]
    assert warning["message"].startswith(
        f"Chosen product contains {ingredient}, which matches the patient's allergy "
        f"'{allergy}'")
    assert not patient.sessions.exists()

    created = api.post("/api/sessions/", {
        "patient": patient.pk, "performed_at": (timezone.now() - timedelta(days=3)).isoformat(),
        "treatment_area": "face", "needle_depth_mm": "0.50", "products": products,
    }, format="json").json()
    assert [w["ingredients"] for w in created["allergy_warnings"]] == [[ingredient]]
    assert created["allergy_warnings"][0]["matches"] == warning["matches"]
    assert created["products"][0]["ingredients"] == ["Water", ingredient]

    day2 = CheckIn.objects.get(session_id=created["id"], day=2)
    flagged = answer(api, day2, itching="mild").json()["assessment"]
    assert [reason["code"] for reason in flagged["reasons"]] == ["ALLERGY"]
    assert ingredient in flagged["reasons"][0]["message"]


def test_it_gives_no_warning_before_saving_when_nothing_matches(api, patient):
    patient.known_allergies = ["lidocaine"]
    patient.save()
    product = ProductFactory(ingredients=["Prilocaine"])

    response = api.post("/api/sessions/allergy-warnings/",
                        {"patient": patient.pk, "products": [{"product": product.pk}]},
                        format="json")

    assert response.json() == {"allergy_warnings": []}


def test_it_says_which_allergy_matched_each_ingredient_of_a_numbing_cream(api, patient):
    patient.known_allergies = ["lidocaína", "EMLA", "latex"]
    patient.save()
    product = ProductFactory(name="EMLA Cream", kind=Product.Kind.NUMBING_CREAM,
                             ingredients=["Lidocaine 2.5%", "Prilocaine 2.5%", "Carbomer"])

    response = api.post("/api/sessions/allergy-warnings/",
                        {"patient": patient.pk, "products": [{"product": product.pk}]},
                        format="json")

    [warning] = response.json()["allergy_warnings"]
    assert warning["ingredients"] == ["Lidocaine 2.5%", "Prilocaine 2.5%"]
    assert warning["matches"] == [
        {"allergy": "lidocaína", "ingredient": "Lidocaine 2.5%"},
        {"allergy": "EMLA", "ingredient": "Lidocaine 2.5%"},
        {"allergy": "EMLA", "ingredient": "Prilocaine 2.5%"},
    ]
    assert warning["message"] == (
        "EMLA Cream contains Lidocaine 2.5%, which matches the patient's allergies "
        "'lidocaína' and 'EMLA' (same substance: lidocaine; EMLA contains lidocaine and "
        "prilocaine); and Prilocaine 2.5%, which matches the patient's allergy 'EMLA' "
        "(EMLA contains lidocaine and prilocaine).")


@pytest.mark.parametrize("vague", ["cream", "gel", "acid"])
def test_it_never_matches_an_allergy_recorded_before_vague_names_were_refused(afternoon, api,
                                                                              patient, vague):
    # Written straight to the database, as a record from before the refusal.
    type(patient).objects.filter(pk=patient.pk).update(known_allergies=[vague])
    product = ProductFactory(name="Everything", ingredients=[
        "Lidocaine cream", "Aloe Vera Gel", "Hyaluronic Acid", "Ascorbic Acid"])
    products = [{"product": product.pk, "phase": "pre", "lot_number": "L-1"}]

    before = api.post("/api/sessions/allergy-warnings/",
                      {"patient": patient.pk, "products": products}, format="json")
    created = api.post("/api/sessions/", {
        "patient": patient.pk, "performed_at": (timezone.now() - timedelta(days=2)).isoformat(),
        "treatment_area": "face", "needle_depth_mm": "0.50", "products": products,
    }, format="json").json()
    day2 = CheckIn.objects.get(session_id=created["id"], day=2)
    assessment = answer(api, day2, itching="mild").json()["assessment"]

    assert before.json() == {"allergy_warnings": []}
    assert created["allergy_warnings"] == []
    assert assessment["reasons"] == []


def test_it_checks_allergies_only_for_the_staff_members_own_patients(outsider_api, patient):
    product = ProductFactory()

    response = outsider_api.post("/api/sessions/allergy-warnings/",
                                 {"patient": patient.pk, "products": [{"product": product.pk}]},
                                 format="json")

    assert response.status_code == 400
    assert "patient" in response.json()
