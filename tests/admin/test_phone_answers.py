"""Answers taken by phone, entered in the admin through the service the API uses."""

from __future__ import annotations

import pytest

from followups.models import AuditEvent, CheckInResponse, Escalation
from tests.factories import NORMAL_ANSWERS, session_with_checkins

pytestmark = pytest.mark.django_db


def form_data(**answers) -> dict[str, str]:
    data = {**NORMAL_ANSWERS, **answers}
    return {key: ("yes" if value is True else "no" if value is False else value)
            for key, value in data.items()}


@pytest.fixture
def day2(afternoon, patient, staff):
    return session_with_checkins(patient=patient, practitioner=staff).checkins.get(day=2)


def url(checkin) -> str:
    return f"/admin/followups/checkin/{checkin.pk}/answers/"


def test_it_records_answers_and_shows_their_assessment(staff_client, staff, day2):
    response = staff_client.post(url(day2), form_data(fever=True), follow=True)

    stored = CheckInResponse.objects.get(checkin=day2)
    assert (stored.channel, stored.entered_by, stored.assessment_level) == ("staff", staff,
                                                                           "urgent")
    assert response.request["PATH_INFO"] == (
        f"/admin/followups/checkinresponse/{stored.pk}/change/")
    body = response.content.decode()
    assert "Answers recorded: assessed URGENT." in body
    assert "Fever reported" in body  # the reasons, as the API's assessment gives them
    assert Escalation.objects.get(checkin=day2).level == "urgent"
    assert AuditEvent.objects.filter(action="record_answers", actor=staff).exists()


def test_it_refuses_what_the_api_refuses_and_writes_nothing(staff_client, day2):
    response = staff_client.post(url(day2), form_data(rash="none", rash_trend="worse"))

    assert response.status_code == 200
    assert "rash_trend" in response.context["form"].errors
    assert not CheckInResponse.objects.exists() and not Escalation.objects.exists()


def test_it_refuses_a_check_in_whose_time_has_not_come(staff_client, day2):
    day7 = day2.session.checkins.get(day=7)

    response = staff_client.post(url(day7), form_data())

    assert response.status_code == 200
    assert "opens at" in " ".join(response.context["form"].non_field_errors())
    assert not CheckInResponse.objects.exists()


def test_a_check_in_already_answered_is_said_so(staff_client, day2):
    staff_client.post(url(day2), form_data())

    response = staff_client.post(url(day2), form_data(fever=True))

    assert "cannot take answers" in " ".join(response.context["form"].non_field_errors())
    assert CheckInResponse.objects.count() == 1


def test_the_answers_add_page_leads_to_the_check_ins_instead_of_a_403(staff_client):
    response = staff_client.get("/admin/followups/checkinresponse/add/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/followups/checkin/")


def test_another_clinics_staff_get_a_404(client, outsider, day2):
    client.force_login(outsider)

    assert client.get(url(day2)).status_code == 404
    assert client.post(url(day2), form_data()).status_code == 404
    assert not CheckInResponse.objects.exists()
