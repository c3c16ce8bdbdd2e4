"""The sweep under faults: a broker that vanishes or forgets, a worker killed mid-send."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.testing import mail_folder_messages, wait_until
from followups.models import CheckIn
from tests.factories import PatientFactory, session_with_checkins

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def _sent(checkins) -> bool:
    return not CheckIn.objects.filter(pk__in=[c.pk for c in checkins]).exclude(
        status=CheckIn.Status.SENT).exists()


def test_it_loses_nothing_when_the_broker_is_flushed_mid_run(clinic, start_worker, start_beat,
                                                             broker_redis, mail_dir):
    three_days_ago = timezone.now() - timedelta(days=3)
    first = session_with_checkins(patient=PatientFactory(clinic=clinic),
                                  performed_at=three_days_ago).checkins.get(day=2)
    start_worker()
    beat = start_beat()
    wait_until(lambda: _sent([first]), timeout=60, message="the first beat sweep")
    wait_until(lambda: "Sending due task" in beat.output(), timeout=5, message="beat to log")

    # Everything the broker knew goes: queued tasks, unacked ones, the bindings.
    broker_redis.flushall()
    later = [session_with_checkins(patient=PatientFactory(clinic=clinic),
                                   performed_at=three_days_ago).checkins.get(day=2)
             for _ in range(3)]

    wait_until(lambda: _sent(later), timeout=90, message="the next beat sweep after FLUSHALL")
    ids = [message["Message-ID"] for message in mail_folder_messages(mail_dir)]
    assert len(ids) == len(set(ids)) == 4
