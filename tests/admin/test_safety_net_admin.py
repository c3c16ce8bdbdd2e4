"""The safety net in the admin: allergies checked before saving, the catalogue protected,
who is watched, and comments to read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from followups.models import AuditEvent, CheckIn, CheckInResponse
from patients.models import Product, TreatmentSession
from tests.admin.builders import answer
from tests.admin.test_sessions_admin import ADD, session_form
from tests.factories import PatientFactory, ProductFactory, session_with_checkins

pytestmark = pytest.mark.django_db

QUIET = {"rash": "none", "rash_trend": "", "swelling": "none"}
DASHBOARD = "/admin/"


# Allergies checked before saving -------------------------------------------------------

ALLERGY_CASES = [
    ("lidocaine", "Lidocaine Hydrochloride 4%"),
    ("aloe", "Aloe Barbadensis Leaf Juice"),
    ("hyaluronic acid", "Sodium Hyaluronate"),
    # Revised reference: the patient's language, brands, aloe vera.
    ("lidocaína", "Lidocaine Hydrochloride"),
    ("vitamine C", "Sodium Ascorbyl Phosphate"),
    ("Pliaglis", "Tetracaine 7%"),
    ("aloe vera", "Aloe Barbadensis Leaf Juice"),
]


@pytest.mark.parametrize(("allergy", "ingredient"), ALLERGY_CASES,
                         ids=[case[0] for case in ALLERGY_CASES])
def test_it_shows_the_allergy_warning_before_saving_a_session(staff_client, staff, clinic,
                                                              allergy, ingredient):
    patient = PatientFactory(clinic=clinic, known_allergies=[allergy])
    product = ProductFactory(name="Chosen product", ingredients=["Water", ingredient])

    page = staff_client.post(reverse(ADD), session_form(
        patient, staff, (product, "post", "L-1"), _check_allergies="1"))

    assert page.status_code == 200
    text = page.content.decode()
    assert "Allergy check (nothing saved): Chosen product contains" in text
    assert ingredient in text
    assert escape(f"Chosen product contains {ingredient}, which matches the patient's "
                  f"allergy '{allergy}'") in text
    assert not TreatmentSession.objects.exists()

    saved = staff_client.post(reverse(ADD), session_form(patient, staff, (product, "post", "L-1")))
    assert saved.status_code == 302
    session = TreatmentSession.objects.get()
    assert session.applications.get().ingredients == ["Water", ingredient]


def test_it_says_when_no_product_chosen_contains_a_known_allergen(staff_client, staff, clinic):
    patient = PatientFactory(clinic=clinic, known_allergies=["latex"])
    product = ProductFactory(ingredients=["Lidocaine"])

    page = staff_client.post(reverse(ADD), session_form(
        patient, staff, (product, "pre", "L-1"), _check_allergies="1"))

    assert "no product chosen contains a known allergen" in page.content.decode()
    assert not TreatmentSession.objects.exists()


# Allergies that name no substance -----------------------------------------------------


def patient_form(patient, **changes):
    return {"clinic": patient.clinic_id, "first_name": patient.first_name,
            "last_name": patient.last_name, "email": patient.email, "phone": patient.phone,
            "language": patient.language, "known_allergies": ", ".join(patient.known_allergies),
            "sessions-TOTAL_FORMS": 0, "sessions-INITIAL_FORMS": 0, **changes}


def test_it_refuses_a_patients_allergy_that_names_no_substance(staff_client, clinic):
    page = staff_client.post(reverse("admin:patients_patient_add"), {
        "clinic": clinic.pk, "first_name": "Ola", "last_name": "Berg", "email": "ola@mail.example",
        "known_allergies": "lidocaine, cream", "sessions-TOTAL_FORMS": 0,
        "sessions-INITIAL_FORMS": 0,
    })

    assert page.status_code == 200
    [error] = page.context["adminform"].form.errors["known_allergies"]
    assert error.startswith("'cream' names no substance on its own")
    assert "ingredient's name" in error
    assert not clinic.patients.exists()


def test_it_shows_a_vague_allergy_recorded_before_as_not_checked_until_corrected(
        staff_client, staff, clinic):
    # Written straight to the database, as a record from before the refusal.
    patient = PatientFactory(clinic=clinic)
    type(patient).objects.filter(pk=patient.pk).update(known_allergies=["gel"])
    patient.refresh_from_db()
    product = ProductFactory(name="Chosen product", ingredients=["Aloe Vera Gel", "Lidocaine"])
    change = reverse("admin:patients_patient_change", args=[patient.pk])

    shown = staff_client.get(change).content.decode()
    check = staff_client.post(reverse(ADD), session_form(
        patient, staff, (product, "pre", "L-1"), _check_allergies="1")).content.decode()
    unchanged = staff_client.post(change, patient_form(patient))
    corrected = staff_client.post(change, patient_form(patient, known_allergies="aloe vera"))

    note = "Not checked against any product: &#x27;gel&#x27; (no substance named)"
    assert note in shown
    assert note in check
    assert "no product chosen contains a known allergen" in check
    assert unchanged.status_code == 200
    assert "known_allergies" in unchanged.context["adminform"].form.errors
    assert corrected.status_code == 302
    patient.refresh_from_db()
    assert patient.known_allergies == ["aloe vera"]
    after = staff_client.post(reverse(ADD), session_form(
        patient, staff, (product, "pre", "L-1"), _check_allergies="1")).content.decode()
    assert "Chosen product contains Aloe Vera Gel, which matches the patient&#x27;s allergy " \
           "&#x27;aloe vera&#x27;" in after
    assert "Not checked" not in after


def test_it_notes_a_vague_allergy_on_a_saved_session_and_when_saving_one(staff_client, staff,
                                                                         clinic):
    patient = PatientFactory(clinic=clinic)
    type(patient).objects.filter(pk=patient.pk).update(known_allergies=["acid"])
    patient.refresh_from_db()
    product = ProductFactory(name="Chosen product", ingredients=["Hyaluronic Acid"])

    saved = staff_client.post(reverse(ADD), session_form(patient, staff, (product, "pre", "L-1")),
                              follow=True).content.decode()
    session = TreatmentSession.objects.get()
    page = staff_client.get(reverse("admin:patients_treatmentsession_change",
                                    args=[session.pk])).content.decode()

    note = "Not checked against any product: &#x27;acid&#x27; (no substance named)"
    assert f"Allergy warning: {note}" in saved
    assert note in page
    assert "No product contains a known allergen" in page


def test_it_offers_the_check_allergies_button_on_a_new_session(staff_client):
    page = staff_client.get(reverse(ADD))

    assert 'name="_check_allergies"' in page.content.decode()


# The catalogue protected ---------------------------------------------------------------


def test_it_shows_clinic_staff_the_catalogue_without_change_rights(staff_client):
    product = ProductFactory(name="LidoNumb 5%", ingredients=["lidocaine"])
    change = reverse("admin:patients_product_change", args=[product.pk])

    assert staff_client.get(reverse("admin:patients_product_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:patients_product_add")).status_code == 403
    page = staff_client.get(change)
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    refused = staff_client.post(change, {"name": "LidoNumb 5%", "kind": "numbing_cream",
                                         "ingredients": ""})
    assert refused.status_code == 403
    product.refresh_from_db()
    assert product.ingredients == ["lidocaine"]


def test_it_lets_a_superuser_edit_a_product_audited_and_no_past_session_changes(
        superuser_client, superuser, staff, clinic):
    patient = PatientFactory(clinic=clinic, known_allergies=["lidocaine"])
    product = ProductFactory(name="LidoNumb 5%", kind=Product.Kind.NUMBING_CREAM,
                             ingredients=["lidocaine"])
    session = session_with_checkins(patient=patient, practitioner=staff, products=[
        {"product": product, "phase": "pre", "lot_number": "L1"}])

    response = superuser_client.post(reverse("admin:patients_product_change", args=[product.pk]),
                                     {"name": "LidoNumb 5%", "kind": "numbing_cream",
                                      "ingredients": "water"})

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.ingredients == ["water"]
    assert session.applications.get().ingredients == ["lidocaine"]
    event = AuditEvent.objects.get(action=AuditEvent.Action.CHANGE_PRODUCT)
    assert event.actor == superuser
    assert event.changes["before"]["ingredients"] == ["lidocaine"]
    assert event.changes["after"]["ingredients"] == ["water"]


# Who is watched, and why ------------------------------------------------------------------


def watched_patient(clinic, staff):
    patient = PatientFactory(clinic=clinic, first_name="Wendy", last_name="Watched")
    # Eight days ago: the day-7 check-in has fallen due (day 10 has not).
    session = session_with_checkins(patient=patient, practitioner=staff,
                                    performed_at=timezone.now() - timedelta(days=8))
    answer(session.checkins.get(day=7), **QUIET, breakouts="mild", breakouts_trend="better")
    return patient, session


def test_it_counts_the_watched_patients_on_the_dashboard(staff_client, staff, clinic):
    watched_patient(clinic, staff)

    dashboard = staff_client.get(DASHBOARD).context["dashboard"]

    [figure] = [f for f in dashboard.figures if f.label.startswith("Watched")]
    assert figure.value == "1"
    listed = staff_client.get(figure.url).context["cl"].result_list
    assert [checkin.day for checkin in listed] == [10]


def test_it_shows_why_a_patient_is_watched_on_their_page(staff_client, staff, clinic):
    patient, _session = watched_patient(clinic, staff)

    page = staff_client.get(reverse("admin:patients_patient_change", args=[patient.pk]))

    text = page.content.decode()
    assert "Watched: one more check-in, no call" in text
    assert "BREAKOUTS_LINGERING" in text or "Breakouts rated mild" in text


def test_it_filters_the_checkins_list_by_day_10(staff_client, staff, clinic):
    watched_patient(clinic, staff)

    page = staff_client.get(reverse("admin:followups_checkin_changelist"), {"day": "10"})

    assert [checkin.day for checkin in page.context["cl"].result_list] == [10]
    assert "Day 10 (watch)" in page.content.decode()


# Comments to read ------------------------------------------------------------------------


def test_it_puts_a_comment_without_a_warning_sign_in_front_of_a_person(staff_client, staff,
                                                                       clinic):
    patient = PatientFactory(clinic=clinic)
    session = session_with_checkins(patient=patient, practitioner=staff,
                                    performed_at=timezone.now() - timedelta(days=8))
    waiting = answer(session.checkins.get(day=2), **QUIET, comments="Can I wear make-up?")
    flagged = answer(session.checkins.get(day=7), **QUIET, comments="I have a fever")

    assert waiting.comment_waiting and not flagged.comment_waiting
    dashboard = staff_client.get(DASHBOARD).context["dashboard"]
    [figure] = [f for f in dashboard.figures if f.label == "Comments to read"]
    assert figure.value == "1"
    assert [r.pk for r in staff_client.get(figure.url).context["cl"].result_list] == [waiting.pk]
    page = staff_client.get(reverse("admin:patients_patient_change", args=[patient.pk]))
    assert "Can I wear make-up?" in page.content.decode()
    assert "Comments to read" in page.content.decode()


def test_it_records_who_marked_a_comment_read_and_when(staff_client, staff, clinic):
    patient = PatientFactory(clinic=clinic)
    session = session_with_checkins(patient=patient, practitioner=staff)
    waiting = answer(session.checkins.get(day=2), **QUIET, comments="Can I wear make-up?")
    back = reverse("admin:patients_patient_change", args=[patient.pk])

    response = staff_client.post(reverse("admin:followups_checkinresponse_changelist"), {
        "action": "mark_comments_read", "_selected_action": [waiting.pk], "next": back})

    assert response.status_code == 302 and response["Location"] == back
    waiting.refresh_from_db()
    assert not waiting.comment_waiting
    assert waiting.comment_read_by == staff and waiting.comment_read_at is not None
    event = AuditEvent.objects.get(action=AuditEvent.Action.READ_COMMENT)
    assert (event.actor, event.patient) == (staff, patient)
    assert "Comments to read" not in staff_client.get(back).content.decode()


def test_it_keeps_another_clinics_comments_out_of_reach(client, outsider, staff, clinic):
    patient = PatientFactory(clinic=clinic)
    session = session_with_checkins(patient=patient, practitioner=staff)
    waiting = answer(session.checkins.get(day=2), **QUIET, comments="Can I wear make-up?")
    client.force_login(outsider)

    client.post(reverse("admin:followups_checkinresponse_changelist"),
                {"action": "mark_comments_read", "_selected_action": [waiting.pk]})

    assert CheckInResponse.objects.get(pk=waiting.pk).comment_waiting
    assert CheckIn.objects.filter(day=2).exists()


def test_the_allergy_check_is_a_warning_or_a_note_not_an_error(staff_client, staff, clinic):
    from django.contrib.messages import INFO, WARNING

    patient = PatientFactory(clinic=clinic, known_allergies=["latex"])
    clean = ProductFactory(name="Clean serum", ingredients=["Lidocaine"])
    risky = ProductFactory(name="Risky glove", ingredients=["Latex"])

    fine = staff_client.post(reverse(ADD), session_form(
        patient, staff, (clean, "pre", "L-1"), _check_allergies="1"))
    found = staff_client.post(reverse(ADD), session_form(
        patient, staff, (risky, "pre", "L-2"), _check_allergies="1"))

    for page in (fine, found):
        assert page.status_code == 200
        assert "Please correct the error" not in page.content.decode()
        assert 'class="errornote"' not in page.content.decode()
    assert [m.level for m in fine.context["messages"]] == [INFO]
    assert [m.level for m in found.context["messages"]] == [WARNING]
    assert not TreatmentSession.objects.exists()
