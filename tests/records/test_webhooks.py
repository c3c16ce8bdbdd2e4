"""Webhooks: signed deliveries to a real HTTP receiver on loopback, through its outages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from followups.escalations.services import escalation_acknowledge
from followups.models import Escalation
from followups.webhooks.delivery import webhooks_deliver_due
from followups.webhooks.models import Webhook, WebhookDelivery
from followups.webhooks.services import webhook_create
from followups.webhooks.signing import SIGNATURE_HEADER, signature_valid
from patients.models import ClinicMembership
from tests.factories import response_for, session_with_checkins

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def hook_for(manager, clinic, url, events=("escalation.raised",)) -> Webhook:
    return webhook_create(actor=manager, data={"clinic": clinic, "url": url,
                                               "events": list(events)})


def flag(patient) -> Escalation:
    session = session_with_checkins(patient=patient)
    response_for(session.checkins.get(day=2), fever=True)
    return Escalation.objects.get(session=session)


def test_it_signs_each_delivery_with_the_webhooks_secret(afternoon, manager, clinic, patient,
                                                         receiver):
    webhook = hook_for(manager, clinic, receiver.url,
                       events=("escalation.raised", "escalation.acknowledged",
                               "checkin.answered"))
    escalation = flag(patient)
    escalation_acknowledge(escalation=escalation, actor=manager)

    assert webhooks_deliver_due().delivered == 3

    events = [hook.json["event"] for hook in receiver.received]
    assert sorted(events) == ["checkin.answered", "escalation.acknowledged",
                              "escalation.raised"]
    for hook in receiver.received:
        header = hook.headers[SIGNATURE_HEADER]
        assert header.startswith("t=") and ",v1=" in header
        assert signature_valid(secret=webhook.secret, header=header, body=hook.body)
        assert not signature_valid(secret=webhook.secret, header=header, body=hook.body + b" ")
        assert patient.last_name not in hook.body.decode()
        assert patient.email not in hook.body.decode()
    assert len({hook.json["id"] for hook in receiver.received}) == 3


def test_it_sends_only_the_events_a_webhook_asked_for_and_only_to_its_clinic(
        afternoon, manager, clinic, other_clinic, patient, receiver, superuser):
    hook_for(manager, clinic, receiver.url, events=("escalation.resolved",))
    hook_for(superuser, other_clinic, receiver.url, events=("escalation.raised",))
    flag(patient)

    assert webhooks_deliver_due().delivered == 0
    assert receiver.received == []


def test_a_receiver_down_for_an_hour_misses_nothing(manager, clinic, patient, receiver):
    with time_machine.travel(START, tick=False) as clock:
        hook_for(manager, clinic, receiver.url)
        escalation = flag(patient)
        receiver.down()
        for _minute in range(60):
            webhooks_deliver_due()
            clock.shift(timedelta(minutes=1))
        delivery = WebhookDelivery.objects.get()
        assert receiver.received == [] and receiver.refused == delivery.attempts >= 6
        assert delivery.status == "pending" and delivery.last_error == "answered HTTP 503"
        assert Webhook.objects.get().last_error == "answered HTTP 503"

        receiver.up()
        for _minute in range(31):  # the longest backoff, at most
            webhooks_deliver_due()
            clock.shift(timedelta(minutes=1))

    [hook] = receiver.received
    assert hook.json["data"]["escalation"] == escalation.pk
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.response_status == 204
    assert Webhook.objects.get().last_error == ""


def test_a_day_of_failures_turns_the_webhook_off_with_a_notice_on_the_dashboard(
        manager, clinic, patient, receiver, staff, client):
    with time_machine.travel(START, tick=False) as clock:
        hook_for(manager, clinic, receiver.url)
        flag(patient)
        receiver.stop()  # nothing listening at all
        assert webhooks_deliver_due().retrying == 1
        clock.shift(timedelta(hours=23))
        assert webhooks_deliver_due().retrying == 1
        clock.shift(timedelta(hours=1, minutes=1))
        report = webhooks_deliver_due()

    assert report.failed == 1 and report.webhooks_disabled == 1
    webhook = Webhook.objects.get()
    assert not webhook.active and webhook.disabled_at is not None
    assert "a day of failures" in webhook.last_error
    assert WebhookDelivery.objects.get().status == "failed"
    # Nothing more is recorded for a webhook that is off.
    flag(patient)
    assert WebhookDelivery.objects.count() == 1

    client.force_login(staff)
    dashboard = client.get(reverse("admin:index")).content.decode()
    assert "Webhooks turned off" in dashboard
    log = client.get(reverse("admin:followups_webhookdelivery_changelist"))
    assert log.status_code == 200 and "escalation.raised" in log.content.decode()


def test_two_workers_never_send_one_delivery_twice(afternoon, manager, clinic, patient,
                                                    receiver, require_postgres):
    hook_for(manager, clinic, receiver.url)
    flag(patient)

    first, second = webhooks_deliver_due(), webhooks_deliver_due()

    assert (first.delivered, second.delivered) == (1, 0)
    assert len(receiver.received) == 1


# The API -------------------------------------------------------------------------


def test_managers_make_webhooks_and_see_the_secret_once(manager_api, clinic):
    created = manager_api.post("/api/webhooks/", {
        "clinic": clinic.pk, "url": "https://ehr.example/hooks",
        "events": ["escalation.raised", "checkin.answered"]}, format="json")

    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["active"] is True
    listed = manager_api.get("/api/webhooks/").json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    assert "secret" not in listed["results"][0]


def test_staff_who_are_not_managers_cannot_see_or_make_webhooks(api, clinic):
    assert api.get("/api/webhooks/").status_code == 403
    assert api.post("/api/webhooks/", {"clinic": clinic.pk, "url": "https://x.example/",
                                       "events": ["escalation.raised"]},
                    format="json").status_code == 403


@pytest.mark.parametrize(("change", "field"), [
    ({"events": ["escalation.exploded"]}, "events"),
    ({"events": []}, "events"),
    ({"url": "not a url"}, "url"),
    ({"url": "ftp://ehr.example/hooks"}, "url"),
])
def test_it_refuses_a_bad_webhook_naming_the_field(manager_api, clinic, change, field):
    reply = manager_api.post("/api/webhooks/", {
        "clinic": clinic.pk, "url": "https://ehr.example/hooks",
        "events": ["escalation.raised"], **change}, format="json")

    assert reply.status_code == 400
    assert field in reply.json()
    assert not Webhook.objects.exists()


def test_a_manager_cannot_add_a_webhook_to_another_clinic(manager_api, other_clinic):
    reply = manager_api.post("/api/webhooks/", {
        "clinic": other_clinic.pk, "url": "https://ehr.example/hooks",
        "events": ["escalation.raised"]}, format="json")

    assert reply.status_code == 400 and "clinic" in reply.json()
    assert not Webhook.objects.exists()


def test_a_manager_changes_and_removes_a_webhook_but_not_its_secret(manager_api, manager, clinic):
    webhook = hook_for(manager, clinic, "https://ehr.example/hooks")
    secret = webhook.secret

    changed = manager_api.patch(f"/api/webhooks/{webhook.pk}/", {
        "events": ["escalation.resolved"], "secret": "whsec_mine", "active": False},
        format="json")

    assert changed.status_code == 200, changed.content
    webhook.refresh_from_db()
    assert webhook.events == ["escalation.resolved"]
    assert (webhook.secret, webhook.active) == (secret, True)  # read-only fields ignored
    assert manager_api.delete(f"/api/webhooks/{webhook.pk}/").status_code == 204
    assert not Webhook.objects.exists()


def test_another_clinics_manager_finds_no_such_webhook(manager, clinic, outsider, outsider_api):
    ClinicMembership.objects.filter(user=outsider).update(is_manager=True)
    webhook = hook_for(manager, clinic, "https://ehr.example/hooks")

    assert outsider_api.get(f"/api/webhooks/{webhook.pk}/").status_code == 404
    assert outsider_api.delete(f"/api/webhooks/{webhook.pk}/").status_code == 404
    assert Webhook.objects.filter(pk=webhook.pk).exists()


def test_a_manager_turns_a_webhook_back_on_in_the_admin_and_staff_cannot(
        client, manager, staff, clinic):
    webhook = hook_for(manager, clinic, "https://ehr.example/hooks")
    Webhook.objects.filter(pk=webhook.pk).update(active=False, last_error="turned off")
    changelist = reverse("admin:followups_webhook_changelist")
    action = {"action": "turn_back_on", "_selected_action": [webhook.pk]}

    client.force_login(staff)
    assert "turn_back_on" not in client.get(changelist).content.decode()
    client.post(changelist, action)
    assert not Webhook.objects.get(pk=webhook.pk).active

    client.force_login(manager)
    client.post(changelist, action)
    webhook.refresh_from_db()
    assert webhook.active and webhook.last_error == "" and webhook.disabled_at is None
