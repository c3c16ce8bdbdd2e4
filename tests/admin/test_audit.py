"""The audit trail: every look at answers or photos, every handling, every resend."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from followups.delivery.sweep import followups_sweep
from followups.link.tokens import token_new
from followups.models import AuditEvent, CheckIn, CheckInLink, CheckInResponse
from followups.selectors import checkin_for_token

pytestmark = pytest.mark.django_db


def events(action, **filters):
    return list(AuditEvent.objects.filter(action=action, **filters))


def test_it_logs_each_view_of_a_patients_answers(staff_client, staff, own_world):
    patient = own_world.patients[0]

    response = staff_client.get(reverse("admin:patients_patient_change", args=[patient.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and "Answers by check-in" in body
    [event] = events("view_answers", actor=staff, patient=patient,
                     target=f"Patient page of {patient}")
    assert event.clinic == own_world.clinic


def test_it_does_not_log_a_view_of_answers_that_do_not_exist(staff_client, staff, patient):
    staff_client.get(reverse("admin:patients_patient_change", args=[patient.pk]))

    assert events("view_answers") == []


def test_it_logs_a_view_of_the_answers_page(staff_client, staff, own_world):
    answers = own_world.of("followups.CheckInResponse")[0]

    response = staff_client.get(
        reverse("admin:followups_checkinresponse_change", args=[answers.pk])
    )

    assert response.status_code == 200
    assert events("view_answers", actor=staff,
                  patient=answers.checkin.session.patient, target=str(answers))


def test_it_streams_a_photo_privately_and_logs_it(staff_client, staff, own_world):
    answers = next(r for r in own_world.of("followups.CheckInResponse") if r.photo)

    response = staff_client.get(
        reverse("admin:followups_checkinresponse_photo", args=[answers.pk])
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content).startswith(b"\xff\xd8\xff")
    [event] = events("view_photo", actor=staff)
    assert event.patient == answers.checkin.session.patient


def test_it_has_no_photo_to_show_for_answers_without_one(staff_client, own_world):
    answers = next(r for r in own_world.of("followups.CheckInResponse") if not r.photo)

    response = staff_client.get(
        reverse("admin:followups_checkinresponse_photo", args=[answers.pk])
    )

    assert response.status_code == 404
    assert events("view_photo") == []


def test_it_logs_acknowledge_and_resolve(staff_client, staff, own_world):
    escalation = own_world.of("followups.Escalation")[0]
    queue = reverse("admin:followups_escalation_changelist")
    selected = {ACTION_CHECKBOX_NAME: [escalation.pk]}

    staff_client.post(queue, {"action": "acknowledge_selected", "index": 0, **selected})
    staff_client.post(queue, {"action": "resolve_selected", "post": "yes",
                              "note": "Called the patient.", **selected})

    assert [e.target for e in events("acknowledge", actor=staff)] == [str(escalation)]
    assert [e.target for e in events("resolve", actor=staff)] == [str(escalation)]


def test_it_resends_with_a_new_link_that_kills_the_old_one_and_logs_it(staff_client, staff,
                                                                       own_world):
    now = timezone.now()
    checkin = CheckIn.objects.get(session=own_world.sessions[1], day=7)
    CheckIn.objects.filter(pk=checkin.pk).update(status="sent", sent_at=now,
                                                 expires_at=now + timedelta(days=3))
    old_token, old_hash = token_new()
    CheckInLink.objects.create(checkin=checkin, token_hash=old_hash,
                               expires_at=now + timedelta(days=3))
    assert checkin_for_token(token=old_token).pk == checkin.pk
    changelist = reverse("admin:followups_checkin_changelist")

    response = staff_client.post(changelist, {"action": "resend_selected", "index": 0,
                                              ACTION_CHECKBOX_NAME: [checkin.pk]})

    assert response.status_code == 302
    checkin.refresh_from_db()
    assert checkin.status == "scheduled" and checkin.send_generation == 2
    assert checkin_for_token(token=old_token) is None
    [event] = events("resend", actor=staff)
    assert event.target == str(checkin) and event.patient == own_world.patients[1]

    mail.outbox.clear()
    followups_sweep()
    [email] = [m for m in mail.outbox if own_world.patients[1].email in m.to]
    new_token = email.body.split("/c/")[1].split("/")[0]
    assert checkin_for_token(token=new_token).pk == checkin.pk
    assert checkin_for_token(token=old_token) is None


def test_it_resends_a_failed_email_and_clears_its_error(staff_client, staff, own_world):
    failed = CheckIn.objects.get(session=own_world.sessions[2], day=7)
    page = staff_client.get(reverse("admin:followups_checkin_changelist"),
                            {"status__exact": "failed"})
    assert "SMTPRecipientsRefused" in page.content.decode()

    response = staff_client.post(reverse("admin:followups_checkin_resend", args=[failed.pk]))

    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.last_error) == ("scheduled", "")
    assert len(events("resend", actor=staff)) == 1


def test_it_refuses_to_resend_an_answered_checkin(staff_client, staff, own_world):
    answered = own_world.of("followups.CheckInResponse")[0].checkin
    resend = reverse("admin:followups_checkin_resend", args=[answered.pk])

    response = staff_client.post(resend, follow=True)

    assert "cannot be resent" in response.content.decode()
    assert events("resend") == []


def test_it_lets_nobody_add_change_or_delete_the_audit_trail(client, superuser,
                                                                       own_world):
    from django.contrib import admin

    event = own_world.of("followups.AuditEvent")[0]
    model_admin = admin.site._registry[AuditEvent]
    request = RequestFactory().get("/")
    request.user = superuser

    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)

    client.force_login(superuser)
    change = reverse("admin:followups_auditevent_change", args=[event.pk])
    assert client.get(reverse("admin:followups_auditevent_changelist")).status_code == 200
    assert client.get(change).status_code == 200
    assert client.post(change, {"target": "rewritten", "action": "export"}).status_code == 403
    assert client.get(reverse("admin:followups_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:followups_auditevent_delete", args=[event.pk]),
                       {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert (event.target, event.action) == ("seed", "view_answers")


def test_it_keeps_the_audit_trail_from_staff(staff_client, own_world):
    assert staff_client.get(reverse("admin:followups_auditevent_changelist")).status_code == 403
    assert "Audit" not in staff_client.get(reverse("admin:index")).content.decode()


def test_it_only_shows_answers_never_edits_them(staff_client, own_world):
    answers = own_world.of("followups.CheckInResponse")[0]
    change = reverse("admin:followups_checkinresponse_change", args=[answers.pk])

    assert staff_client.post(change, {"fever": "False"}).status_code == 403
    # The add page leads to the check-ins, whose own page takes answers by phone.
    before = CheckInResponse.objects.count()
    added = staff_client.post(reverse("admin:followups_checkinresponse_add"), {"fever": "True"})
    assert added.status_code == 302 and CheckInResponse.objects.count() == before
    assert CheckInResponse.objects.get(pk=answers.pk).fever is True


def test_the_patient_page_opens_each_photo_full_size(staff_client, own_world):
    from PIL import Image

    answers = next(r for r in own_world.of("followups.CheckInResponse") if r.photo)
    patient = answers.checkin.session.patient
    url = reverse("admin:followups_checkinresponse_photo", args=[answers.pk])

    page = staff_client.get(reverse("admin:patients_patient_change", args=[patient.pk]))
    served = staff_client.get(url)

    assert f'<a href="{url}" class="photo-full"' in page.content.decode()
    with answers.photo.open("rb") as stored:
        stored_size = Image.open(stored).size
    # The link serves the stored photo itself, not the page's 320-pixel rendering.
    assert Image.open(io.BytesIO(b"".join(served.streaming_content))).size == stored_size
