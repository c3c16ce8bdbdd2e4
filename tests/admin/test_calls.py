"""Calls from the desk: the number at hand, a button per outcome, assignment, call-backs on top."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from followups.models import ContactAttempt, Escalation
from tests.admin.builders import flag_patient
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/admin/followups/escalation/"


def page_of(escalation) -> str:
    return f"{QUEUE}{escalation.pk}/change/"


@pytest.fixture
def flagged(afternoon, clinic, staff):
    now = timezone.now()
    review = flag_patient(clinic, staff, index=1, level="review", when=now - timedelta(hours=5))
    urgent = flag_patient(clinic, staff, index=2, when=now - timedelta(minutes=5))
    review.patient.phone = "+447700900001"
    review.patient.save()
    return review, urgent


def test_the_flags_page_starts_with_a_tap_to_call_link_and_the_language(staff_client, flagged):
    review, _ = flagged

    body = staff_client.get(page_of(review)).content.decode()

    assert 'href="tel:+447700900001"' in body
    assert body.index('href="tel:') < body.index("Reasons and their sources")
    assert "Speaks English" in body


def test_a_patient_without_a_number_is_said_so_where_the_number_would_be(staff_client, flagged):
    _, urgent = flagged
    urgent.patient.phone = ""
    urgent.patient.save()

    body = staff_client.get(page_of(urgent)).content.decode()

    assert "No phone number recorded" in body and 'href="tel:' not in body


def test_a_call_recorded_from_the_page_acknowledges_assigns_and_plans_the_next(
        staff_client, staff, flagged):
    _, urgent = flagged

    response = staff_client.post(f"{QUEUE}{urgent.pk}/contact/",
                                 {"outcome": "no_answer", "note": "", "again_in": "1h"})

    assert response.status_code == 302 and response["Location"] == page_of(urgent)
    urgent.refresh_from_db()
    assert (urgent.status, urgent.assigned_to) == ("acknowledged", staff)
    assert urgent.next_attempt_at == urgent.contacts.get().at + timedelta(hours=1)
    assert "No answer" in staff_client.get(page_of(urgent)).content.decode()


@pytest.mark.parametrize("data", [{"outcome": "shouted"}, {"outcome": "reached", "again_in": "9y"},
                                  {"outcome": "other", "note": "x" * 2001}])
def test_a_bad_call_form_records_nothing_and_says_why(staff_client, flagged, data):
    _, urgent = flagged

    response = staff_client.post(f"{QUEUE}{urgent.pk}/contact/", data, follow=True)

    assert response.status_code == 200
    assert not ContactAttempt.objects.exists()
    messages = [str(message) for message in response.context["messages"]]
    assert any(next(iter(data.keys() - {"outcome"}), "outcome").replace("_", " ") in message
               for message in messages), messages


def test_a_call_back_that_has_come_due_puts_the_flag_back_on_top(staff_client, flagged):
    review, urgent = flagged
    staff_client.post(f"{QUEUE}{review.pk}/contact/", {"outcome": "voicemail", "again_in": "1h"})
    before = [e.pk for e in staff_client.get(QUEUE).context["cl"].result_list]

    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        after = [e.pk for e in staff_client.get(QUEUE).context["cl"].result_list]
        body = staff_client.get(QUEUE).content.decode()

    assert before == [urgent.pk, review.pk]
    assert after == [review.pk, urgent.pk]
    assert "Call back now" in body


def test_mine_lists_only_the_flags_assigned_to_me(staff_client, staff, clinic, flagged):
    review, urgent = flagged
    colleague = UserFactory(username="colleague", clinics=[clinic])
    staff_client.post(f"{QUEUE}{review.pk}/assign/", {"user": "me"})
    staff_client.post(f"{QUEUE}{urgent.pk}/assign/", {"user": str(colleague.pk)})

    mine = [e.pk for e in staff_client.get(QUEUE + "?assigned=mine").context["cl"].result_list]

    assert mine == [review.pk]
    assert Escalation.objects.get(pk=urgent.pk).assigned_to == colleague


def test_it_refuses_to_assign_someone_outside_the_clinic(staff_client, flagged, outsider):
    review, _ = flagged

    response = staff_client.post(f"{QUEUE}{review.pk}/assign/", {"user": str(outsider.pk)},
                                 follow=True)

    assert Escalation.objects.get(pk=review.pk).assigned_to is None
    assert any("staff member of this clinic" in str(m) for m in response.context["messages"])


def test_another_clinics_staff_can_neither_call_nor_assign(client, outsider, flagged):
    review, _ = flagged
    client.force_login(outsider)

    assert client.post(f"{QUEUE}{review.pk}/contact/", {"outcome": "reached"}).status_code == 404
    assert client.post(f"{QUEUE}{review.pk}/assign/", {"user": "me"}).status_code == 404
    assert not ContactAttempt.objects.exists()


def test_the_dashboard_lists_the_calls_to_make_with_their_numbers(staff_client, flagged):
    review, urgent = flagged

    calls = staff_client.get("/admin/").context["dashboard"].calls

    assert [e.pk for e in calls] == [urgent.pk, review.pk]
    assert calls[1].at_hand.tel_url == "tel:+447700900001"


def test_the_dashboards_calls_put_a_due_call_back_first_then_the_queues_order(
        staff_client, clinic, staff, flagged):
    """Read in two parts (the call-backs due, then the rest in the queue's index order):
    the same order as the queue's, with no flag twice and none resolved."""
    review, urgent = flagged
    now = timezone.now()
    older_urgent = flag_patient(clinic, staff, index=3, when=now - timedelta(hours=1))
    resolved = flag_patient(clinic, staff, index=4, when=now - timedelta(hours=2))
    Escalation.objects.filter(pk=resolved.pk).update(
        status="resolved", resolved_at=now, acknowledged_at=now, resolved_by=staff,
        resolution_note="Called: healing as expected.")
    staff_client.post(f"{QUEUE}{review.pk}/contact/", {"outcome": "voicemail", "again_in": "1h"})

    calls = [e.pk for e in staff_client.get("/admin/").context["dashboard"].calls]
    assert calls == [older_urgent.pk, urgent.pk, review.pk]

    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        due = [e.pk for e in staff_client.get("/admin/").context["dashboard"].calls]
        queue = [e.pk for e in staff_client.get(QUEUE).context["cl"].result_list]
    assert due == [review.pk, older_urgent.pk, urgent.pk] == queue


def test_the_urgent_alert_email_leads_to_the_page_with_the_number(staff_client, clinic, staff):
    import re

    from django.core import mail

    from followups.delivery.sweep import followups_sweep
    from tests.admin.builders import answer
    from tests.factories import PatientFactory, session_with_checkins

    clinic.email = "desk@clinic.example"
    clinic.save()
    patient = PatientFactory(clinic=clinic, phone="+447700900777")
    answer(session_with_checkins(patient=patient, practitioner=staff).checkins.get(day=2),
           fever=True)
    mail.outbox.clear()
    followups_sweep()

    [alert] = [m for m in mail.outbox if m.to == ["desk@clinic.example"]]
    path = re.search(r"https?://[^/\s]+(/admin/\S+)", alert.body).group(1)
    page = staff_client.get(path).content.decode()

    assert 'href="tel:+447700900777"' in page
    assert "+447700900777" not in alert.body  # the email itself carries no patient data


def test_flags_have_one_name_on_every_staff_page(staff_client, flagged):
    review, _ = flagged

    home = staff_client.get("/admin/").content.decode()
    queue = staff_client.get(QUEUE).content.decode()
    resolve = staff_client.get(f"{QUEUE}{review.pk}/resolve/").content.decode()

    for page in (home, queue, resolve):
        assert "Flagged patients" in page
        assert ">Escalations<" not in page


def test_cluster_reasons_read_as_words_with_the_code_small(staff_client, clinic):
    from followups.models import ClusterSignal

    signal = ClusterSignal.objects.create(clinic=clinic, kind="product_lot", key="k",
                                          lot_number="L1", reason_codes=["RASH_WORSENING"],
                                          created_at=timezone.now(), updated_at=timezone.now())

    page = staff_client.get(f"/admin/followups/clustersignal/{signal.pk}/change/")
    home = staff_client.get("/admin/").content.decode()

    for body in (page.content.decode(), home):
        assert 'Rash worsening <small class="code"><code>RASH_WORSENING</code></small>' in body
