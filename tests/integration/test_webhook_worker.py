"""Webhook deliveries sent by a real Celery worker once the answers' transaction commits."""

from __future__ import annotations

import pytest

from followups.models import Escalation
from followups.webhooks.models import WebhookDelivery
from followups.webhooks.services import webhook_create
from followups.webhooks.signing import SIGNATURE_HEADER, signature_valid
from patients.models import ClinicMembership
from tests.factories import UserFactory, response_for, session_with_checkins
from tests.records.receiver import Receiver
from tests.support.broker import celery_producer_broker
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def test_a_worker_sends_the_escalation_after_commit_signed(clinic, patient,
                                                           broker_url, start_worker):
    # On the real clock: a task's expiry is stamped here and read by the worker.
    manager = UserFactory(username="manager", clinics=[clinic])
    ClinicMembership.objects.filter(user=manager).update(is_manager=True)
    receiver = Receiver()
    try:
        webhook = webhook_create(actor=manager, data={
            "clinic": clinic, "url": receiver.url, "events": ["escalation.raised"]})
        start_worker()
        with celery_producer_broker(broker_url):
            session = session_with_checkins(patient=patient)
            response_for(session.checkins.get(day=2), fever=True)

        wait_until(lambda: receiver.received, timeout=60,
                   message="the worker to deliver the webhook")
        [hook] = receiver.received
        assert signature_valid(secret=webhook.secret, header=hook.headers[SIGNATURE_HEADER],
                               body=hook.body)
        assert hook.json["data"]["escalation"] == Escalation.objects.get(session=session).pk
        wait_until(lambda: WebhookDelivery.objects.filter(status="delivered").exists(),
                   timeout=10, message="the delivery recorded")
    finally:
        receiver.stop()
