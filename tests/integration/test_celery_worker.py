"""A real Celery worker and beat, on the real Redis and the test PostgreSQL database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from followups.delivery.channels.email.messages import checkin_message_id
from followups.models import CheckIn
from tests.factories import session_with_checkins
from tests.support.mail import mail_folder_messages
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def test_it_sends_a_due_checkin_through_a_real_worker_and_beat(patient, start_worker,
                                                               start_beat, mail_dir):
    session = session_with_checkins(patient=patient,
                                    performed_at=timezone.now() - timedelta(days=3))
    day2 = session.checkins.get(day=2)

    start_worker()
    start_beat()

    wait_until(lambda: CheckIn.objects.filter(pk=day2.pk, status=CheckIn.Status.SENT).exists(),
               timeout=90, message="the worker to send the day-2 check-in")
    messages = mail_folder_messages(mail_dir)
    assert [message["Message-ID"] for message in messages] == [
        checkin_message_id(day2, reminder=False)
    ]
    assert messages[0]["To"] == patient.email
    assert session.checkins.get(day=7).status == CheckIn.Status.SCHEDULED


def test_beats_sweep_fans_delivery_out_to_every_worker_each_email_once(
        clinic, start_worker, start_beat, mail_dir):
    from tests.factories import PatientFactory

    performed_at = timezone.now() - timedelta(days=3)
    due = [session_with_checkins(patient=PatientFactory(clinic=clinic),
                                 performed_at=performed_at).checkins.get(day=2)
           for _ in range(120)]
    # Two workers of one process each; a slow file backend, so that one
    # worker alone could not have sent them all in the time the two take.
    slow = {"EMAIL_BACKEND": "tests.support.mail.SlowFileBackend",
            "AFTERCARE_TEST_SEND_STALL_SECONDS": "0.05"}
    workers = [start_worker(f"worker-{n}", **slow) for n in range(2)]
    start_beat()

    wait_until(lambda: not CheckIn.objects.filter(pk__in=[c.pk for c in due])
               .exclude(status=CheckIn.Status.SENT).exists(),
               timeout=120, message="every due check-in to be sent")
    ids = [message["Message-ID"] for message in mail_folder_messages(mail_dir)]
    assert sorted(ids) == sorted(checkin_message_id(c, reminder=False) for c in due)
    # Beat's sweep asked for deliveries; both workers took a share of them.
    delivered_by = [worker.output().count("followups.deliver") for worker in workers]
    assert all(count > 0 for count in delivered_by), delivered_by
