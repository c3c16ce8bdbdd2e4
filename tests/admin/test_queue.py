"""The flagged-patient queue: the Escalation change list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from followups.models import AuditEvent, Escalation
from tests.admin.builders import flag_patient
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/admin/followups/escalation/"


def listed(response) -> list[int]:
    assert response.status_code == 200
    return [escalation.pk for escalation in response.context["cl"].result_list]


@pytest.fixture
def flagged(clinic, staff):
    now = timezone.now()
    review_oldest = flag_patient(clinic, staff, index=1, level="review",
                                 when=now - timedelta(hours=5))
    urgent_newest = flag_patient(clinic, staff, index=2, when=now - timedelta(minutes=5))
    urgent_older = flag_patient(clinic, staff, index=3, when=now - timedelta(hours=2))
    return review_oldest, urgent_newest, urgent_older


def test_it_lists_urgent_first_then_the_longest_waiting(staff_client, flagged):
    review_oldest, urgent_newest, urgent_older = flagged

    assert listed(staff_client.get(QUEUE)) == [urgent_older.pk, urgent_newest.pk,
                                               review_oldest.pk]


def test_it_shows_what_each_flag_is_about_in_words(staff_client, flagged):
    body = staff_client.get(QUEUE).content.decode()

    # Badges read without colour: a word and a shape.
    assert "URGENT" in body and "▲" in body
    assert "REVIEW" in body and "◆" in body
    assert "FEVER" in body and "Fever reported at the day-2 check-in" in body
    assert "Flagged2 Patient002" in body
    assert "Day 2" in body
    assert "ago" in body


def test_it_hides_resolved_flags_by_default_and_shows_them_on_request(staff_client, staff,
                                                                     flagged):
    review_oldest, urgent_newest, _ = flagged
    from followups.escalations.services import escalation_acknowledge, escalation_resolve

    escalation_resolve(escalation=review_oldest, actor=staff, note="Called; healing normally.")
    escalation_acknowledge(escalation=urgent_newest, actor=staff)

    default = listed(staff_client.get(QUEUE))
    everything = listed(staff_client.get(QUEUE, {"status": "all"}))

    assert review_oldest.pk not in default and urgent_newest.pk in default
    assert review_oldest.pk in everything
    assert listed(staff_client.get(QUEUE, {"status": "resolved"})) == [review_oldest.pk]
    assert listed(staff_client.get(QUEUE, {"status": "acknowledged"})) == [urgent_newest.pk]
    assert "Show all, including resolved" in staff_client.get(QUEUE).content.decode()


def test_it_filters_by_level_clinic_day_practitioner_and_product(staff_client, clinic, staff):
    colleague = UserFactory(username="colleague", clinics=[clinic])
    serum = ProductFactory(name="Filter serum")
    with_serum = flag_patient(clinic, colleague, index=1, products=[
        {"product": serum, "phase": "post", "lot_number": "S-1"}])
    plain = flag_patient(clinic, staff, index=2, level="review")

    assert listed(staff_client.get(QUEUE, {"level__exact": "urgent"})) == [with_serum.pk]
    assert listed(staff_client.get(QUEUE, {"patient__clinic__id__exact": clinic.pk})) == [
        with_serum.pk, plain.pk]
    assert listed(staff_client.get(QUEUE, {"day": "7"})) == []
    assert listed(staff_client.get(QUEUE, {"day": "2"})) == [with_serum.pk, plain.pk]
    assert listed(staff_client.get(
        QUEUE, {"session__practitioner__id__exact": colleague.pk})) == [with_serum.pk]
    assert listed(staff_client.get(QUEUE, {"product": serum.pk})) == [with_serum.pk]


def test_it_finds_patients_by_name_or_email(staff_client, flagged):
    _, urgent_newest, _ = flagged

    assert listed(staff_client.get(QUEUE, {"q": "Flagged2"})) == [urgent_newest.pk]
    assert listed(staff_client.get(QUEUE, {"q": "Flagged2 Patient002"})) == [urgent_newest.pk]
    assert listed(staff_client.get(QUEUE, {"q": "flagged2@mail.example"})) == [urgent_newest.pk]


def test_it_lists_urgent_flags_past_the_acknowledgement_deadline(staff_client, flagged):
    _, urgent_newest, urgent_older = flagged

    overdue = listed(staff_client.get(QUEUE, {"ack": "overdue", "status": "open"}))

    assert overdue == [urgent_older.pk]


def test_it_acknowledges_in_bulk(staff_client, staff, flagged):
    ids = [str(escalation.pk) for escalation in flagged]

    response = staff_client.post(QUEUE, {"action": "acknowledge_selected", "index": 0,
                                         ACTION_CHECKBOX_NAME: ids})

    assert response.status_code == 302
    assert set(Escalation.objects.values_list("status", flat=True)) == {"acknowledged"}
    assert set(Escalation.objects.values_list("acknowledged_by", flat=True)) == {staff.pk}
    assert AuditEvent.objects.filter(action="acknowledge", actor=staff).count() == 3
    assert "nurse" in staff_client.get(QUEUE).content.decode()  # "Acknowledged by"


def test_it_asks_for_a_note_before_resolving_in_bulk(staff_client, staff, flagged):
    ids = [str(escalation.pk) for escalation in flagged[:2]]

    page = staff_client.post(QUEUE, {"action": "resolve_selected", "index": 0,
                                     ACTION_CHECKBOX_NAME: ids})
    assert page.status_code == 200
    assert "What was done" in page.content.decode()
    assert not Escalation.objects.filter(status="resolved").exists()

    empty = staff_client.post(QUEUE, {"action": "resolve_selected", "post": "yes", "note": "  ",
                                      ACTION_CHECKBOX_NAME: ids})
    assert empty.status_code == 200
    assert "a note is required" in empty.content.decode()
    assert not Escalation.objects.filter(status="resolved").exists()

    done = staff_client.post(QUEUE, {"action": "resolve_selected", "post": "yes",
                                     "note": "Called both; advised GP today.",
                                     ACTION_CHECKBOX_NAME: ids})
    assert done.status_code == 302
    resolved = Escalation.objects.filter(status="resolved")
    assert {e.pk for e in resolved} == {int(pk) for pk in ids}
    assert {e.resolution_note for e in resolved} == {"Called both; advised GP today."}
    assert AuditEvent.objects.filter(action="resolve", actor=staff).count() == 2


def test_it_handles_one_flag_from_its_buttons_and_returns_to_the_patient(staff_client, staff,
                                                                        flagged):
    _, escalation, _ = flagged
    patient_page = reverse("admin:patients_patient_change", args=[escalation.patient_id])
    acknowledge = reverse("admin:followups_escalation_acknowledge", args=[escalation.pk])
    resolve = reverse("admin:followups_escalation_resolve", args=[escalation.pk])

    assert staff_client.get(acknowledge).status_code == 405
    response = staff_client.post(acknowledge, {"next": patient_page})
    assert response.status_code == 302 and response["Location"] == patient_page
    assert staff_client.post(acknowledge, {"next": "https://evil.example/"})["Location"] == (
        reverse("admin:followups_escalation_change", args=[escalation.pk]))

    form = staff_client.get(resolve, {"next": patient_page})
    assert form.status_code == 200 and "What was done" in form.content.decode()
    refused = staff_client.post(resolve, {"note": "", "next": patient_page})
    assert refused.status_code == 200
    response = staff_client.post(resolve, {"note": "Seen in clinic, antibiotics started.",
                                           "next": patient_page})
    assert response.status_code == 302 and response["Location"] == patient_page
    escalation.refresh_from_db()
    assert escalation.status == "resolved"
    assert escalation.resolved_by == staff
    assert escalation.resolution_note == "Seen in clinic, antibiotics started."


def test_it_never_saves_an_escalation_from_its_change_form(staff_client, flagged):
    _, escalation, _ = flagged
    change = reverse("admin:followups_escalation_change", args=[escalation.pk])

    page = staff_client.get(change)
    response = staff_client.post(change, {"status": "resolved", "resolution_note": "x"})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert response.status_code == 403
    escalation.refresh_from_db()
    assert escalation.status == "open"


def test_it_lists_and_closes_cluster_signals(staff_client, staff, own_world):
    changelist = reverse("admin:followups_clustersignal_changelist")
    signals = own_world.of("followups.ClusterSignal")
    assert {s.kind for s in signals} == {"practitioner", "product_lot"}

    page = staff_client.get(changelist, {"status__exact": "open"}).content.decode()
    for text in ("Ownfirst0 Ownlast0", "Ownfirst2 Ownlast2", "Own Numbing cream — lot Own-LOT-7",
                 "Practitioner: nurse", "FEVER", "ALLERGY"):
        assert text in page

    response = staff_client.post(changelist, {"action": "close_selected", "index": 0,
                                              ACTION_CHECKBOX_NAME: [s.pk for s in signals]})

    assert response.status_code == 302
    from followups.models import ClusterSignal

    assert set(ClusterSignal.objects.values_list("status", flat=True)) == {"closed"}
    assert AuditEvent.objects.filter(action="close_cluster", actor=staff).count() == 2
