"""Concurrent sweeps on PostgreSQL: every due email leaves exactly once.

Each sweep runs in its own thread with its own database connection, as
several workers (or a worker and ``dispatch_checkins``) would. The claim is a
conditional UPDATE behind SELECT ... FOR UPDATE SKIP LOCKED; only PostgreSQL
gives these tests their meaning, so they skip on SQLite (and fail in CI).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connections
from django.utils import timezone

from followups.delivery.channels.email.messages import checkin_message_id, site_domain
from followups.delivery.sweep import followups_sweep
from followups.models import CheckIn, Escalation
from tests.factories import (
    PatientFactory,
    ProductFactory,
    UserFactory,
    response_for,
    session_with_checkins,
)
from tests.support.mail import recorded_emails

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.usefixtures("require_postgres", "recorded_mail", "no_kicks"),
]


@pytest.fixture
def no_kicks(monkeypatch):
    """Urgent answers ask a worker for a sweep; these tests run the sweeps themselves."""
    monkeypatch.setattr("followups.delivery.enqueue.sweep_enqueue", lambda: None)


def run_sweeps(count: int, *, batch_size: int = 5, pause: float = 0.002) -> list:
    """``count`` sweeps started together; returns their reports and what each claimed.

    A small batch makes each sweep claim again and again while the others
    are mid-send, and the pause after each claim widens the window for a
    second sweep to grab a row that is already out.
    """
    barrier = threading.Barrier(count)
    reports, claims, errors = [], [], []
    lock = threading.Lock()

    def on_claimed(row):
        with lock:
            claims.append((type(row).__name__, row.pk))
        time.sleep(pause)

    def sweep():
        try:
            barrier.wait(timeout=30)
            report = followups_sweep(batch_size=batch_size, on_claimed=on_claimed)
            with lock:
                reports.append(report)
        except BaseException as error:  # re-raised in the test's thread below
            with lock:
                errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep, name=f"sweep-{n}") for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not [thread.name for thread in threads if thread.is_alive()], "a sweep hung"
    if errors:
        raise errors[0]
    assert len(reports) == count
    return reports, claims


def total(reports, name: str) -> int:
    return sum(getattr(report, name) for report in reports)


def message_ids() -> Counter:
    return Counter(message["Message-ID"] for message in recorded_emails())


def due_checkins(count: int, *, clinic=None) -> list[CheckIn]:
    """``count`` day-2 check-ins already due, spread over a few patients."""
    patients = [PatientFactory(clinic=clinic) if clinic else PatientFactory() for _ in range(4)]
    practitioner = UserFactory(clinics=[patients[0].clinic])
    performed_at = timezone.now() - timedelta(days=3)
    return [
        session_with_checkins(patient=patients[n % 4], practitioner=practitioner,
                              performed_at=performed_at).checkins.get(day=2)
        for n in range(count)
    ]


def test_it_sends_each_due_checkin_once_under_eight_concurrent_sweeps(clinic):
    checkins = due_checkins(40, clinic=clinic)

    reports, claims = run_sweeps(8)

    assert total(reports, "invitations_sent") == 40
    assert total(reports, "lost_claims") == 0
    assert not [report.errors for report in reports if report.errors]
    # No row was ever held by two sweeps at once: each was claimed once.
    assert Counter(claims).most_common(1)[0][1] == 1
    ids = message_ids()
    assert sorted(ids) == sorted(checkin_message_id(c, reminder=False) for c in checkins)
    assert set(ids.values()) == {1}
    assert CheckIn.objects.filter(pk__in=[c.pk for c in checkins],
                                  status=CheckIn.Status.SENT).count() == 40
    # Several sweeps did share the work (the race really happened).
    assert sum(1 for report in reports if report.invitations_sent) > 1


def test_four_sweeps_racing_on_twelve_due_checkins_send_twelve_emails(clinic):
    due_checkins(12, clinic=clinic)

    reports, _ = run_sweeps(4, batch_size=2)

    assert total(reports, "invitations_sent") == 12
    assert len(recorded_emails()) == 12
    assert len(message_ids()) == 12


def test_it_sends_each_reminder_once_under_concurrent_sweeps(clinic):
    checkins = due_checkins(12, clinic=clinic)
    followups_sweep()
    sent_at = CheckIn.objects.get(pk=checkins[0].pk).sent_at

    with time_machine.travel(sent_at + settings.CHECKIN_REMINDER_AFTER + timedelta(minutes=5)):
        reports, _ = run_sweeps(8, batch_size=3)

    assert total(reports, "reminders_sent") == 12
    reminders = [m for m in recorded_emails() if "-reminder@" in m["Message-ID"]]
    assert Counter(m["Message-ID"] for m in reminders) == Counter(
        {checkin_message_id(c, reminder=True): 1 for c in checkins}
    )


def test_it_flags_each_non_response_once_under_concurrent_sweeps(clinic):
    checkins = due_checkins(10, clinic=clinic)
    followups_sweep()
    sent_at = CheckIn.objects.get(pk=checkins[0].pk).sent_at
    with time_machine.travel(sent_at + settings.CHECKIN_REMINDER_AFTER + timedelta(minutes=5)):
        assert followups_sweep().reminders_sent == 10

    with time_machine.travel(sent_at + settings.CHECKIN_NO_RESPONSE_AFTER + timedelta(minutes=5)):
        reports, _ = run_sweeps(8, batch_size=2)

    assert total(reports, "no_response_flags") == 10
    escalations = Escalation.objects.filter(trigger=Escalation.Trigger.NO_RESPONSE)
    assert sorted(escalations.values_list("checkin_id", flat=True)) == sorted(
        c.pk for c in checkins
    )
    assert {reason["code"] for e in escalations for reason in e.reasons} == {"NO_RESPONSE"}


def test_it_alerts_and_renotifies_each_unacknowledged_urgent_escalation_once(clinic):
    UserFactory(username="night-nurse", email="night@clinic.example", clinics=[clinic])
    checkins = due_checkins(6, clinic=clinic)
    for checkin in checkins:
        response_for(checkin, fever=True)
    escalations = list(Escalation.objects.filter(level="urgent"))
    assert len(escalations) == 6

    first, _ = run_sweeps(8, batch_size=2)
    created_at = min(e.created_at for e in escalations)
    with time_machine.travel(created_at + settings.URGENT_ACK_DEADLINE + timedelta(minutes=5)):
        again, _ = run_sweeps(8, batch_size=2)
        later, _ = run_sweeps(4, batch_size=2)

    assert total(first, "alerts_sent") == 6
    assert total(again, "renotifications_sent") == 6
    assert total(later, "alerts_sent") + total(later, "renotifications_sent") == 0
    ids = message_ids()
    for escalation in escalations:
        assert ids[f"<escalation-{escalation.pk}-alert@{site_domain()}>"] == 1
        assert ids[f"<escalation-{escalation.pk}-renotify@{site_domain()}>"] == 1
    assert sum(ids.values()) == 12
    renotified = [m for m in recorded_emails() if "-renotify@" in m["Message-ID"]]
    assert all("night@clinic.example" in m["To"] for m in renotified)


def test_eight_sweeps_check_each_cluster_once_and_raise_one_signal(clinic, caplog):
    from followups.models import ClusterSignal

    practitioner = UserFactory(username="busy-nurse", clinics=[clinic])
    product = ProductFactory(name="Lot serum", ingredients=["peptide"])
    patients = []
    for index in range(12):
        patient = PatientFactory(clinic=clinic)
        session = session_with_checkins(
            patient=patient, practitioner=practitioner,
            performed_at=timezone.now() - timedelta(days=3),
            products=[{"product": product, "phase": "post", "lot_number": "LOT-9"}],
        )
        response_for(session.checkins.get(day=2), pus=index % 2 == 0,
                     rash="severe", rash_trend="worse", fever=index % 2 == 1)
        patients.append(patient)
    assert Escalation.objects.filter(clusters_checked_at__isnull=True).count() == 12

    reports, _ = run_sweeps(8, batch_size=2)

    assert total(reports, "clusters_checked") == 12
    assert not Escalation.objects.filter(clusters_checked_at__isnull=True).exists()
    assert "cluster check failed" not in caplog.text
    by_kind = {signal.kind: signal for signal in ClusterSignal.objects.all()}
    assert sorted(by_kind) == ["practitioner", "product_lot"]
    for signal in by_kind.values():
        assert set(signal.patients.all()) == set(patients)
        assert signal.escalations.count() == 12
