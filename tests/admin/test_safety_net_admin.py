"""The safety net in the admin: allergies checked before saving, the catalogue protected,
who is watched, and comments to read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

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
