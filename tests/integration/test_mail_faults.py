"""Check-in emails through a real SMTP server on loopback that misbehaves as real ones do.

The sweep talks SMTP (Django's smtp backend) to an aiosmtpd server that
refuses, drops, hangs up and dawdles by recipient (tests.support.mail
FaultySMTPServer). In every case each due check-in is sent exactly once or
is ``failed`` with its reason, nothing is left open with nothing scheduled,
and a duplicate appears only where the server really read a message twice.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.db import connections
from django.utils import timezone

from followups.delivery.channels.email.messages import checkin_message_id
from followups.delivery.sweep import followups_sweep
from followups.escalations.messages import reason_message
from followups.models import CheckIn, Escalation
from patients.models import Clinic
from tests.factories import ClinicFactory, PatientFactory, session_with_checkins
from tests.support.mail import FaultySMTPServer
from tests.support.processes import PROJECT_DIR, service_env

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    server = FaultySMTPServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
    settings.EMAIL_TIMEOUT = 1
    yield server
    server.stop()


def due(clinic, *tags: str) -> list[CheckIn]:
    """One due day-2 check-in per tag; the tag goes in the patient's address."""
    performed_at = timezone.now() - timedelta(days=3)
    checkins = []
    for number, tag in enumerate(tags):
        local = f"patient{number}" + (f"+{tag}" if tag else "")
        patient = PatientFactory(clinic=clinic, email=f"{local}@example.com")
        checkins.append(session_with_checkins(patient=patient, performed_at=performed_at)
                        .checkins.get(day=2))
    return checkins


def fresh(checkins) -> list[CheckIn]:
    return list(CheckIn.objects.filter(pk__in=[c.pk for c in checkins]).order_by("pk"))


def received_ids(server: FaultySMTPServer) -> Counter:
    """What reached the server's reader: acknowledged, or read before a hang-up."""
    return Counter([m["Message-ID"] for m in server.received()] + server.accepted_after_drop)


def assert_nothing_stuck() -> None:
    stuck = CheckIn.objects.filter(status__in=CheckIn.OPEN_STATUSES, next_action_at__isnull=True)
    assert not stuck.exists(), list(stuck.values("pk", "status"))


def test_it_reconnects_after_a_421_and_loses_only_a_moment(clinic, smtp):
    checkins = due(clinic, "", "data421-once", "", "data421-once", "")

    report = followups_sweep()

    assert report.invitations_sent == 5 and report.failed == 0
    assert {c.status for c in fresh(checkins)} == {CheckIn.Status.SENT}
    assert received_ids(smtp) == Counter(
        {checkin_message_id(c, reminder=False): 1 for c in checkins})
    assert_nothing_stuck()


def test_a_connection_dropped_after_data_costs_at_most_one_duplicate_with_the_same_id(
        clinic, smtp):
    checkins = due(clinic, "", "drop-once", "")
    dropped = checkin_message_id(checkins[1], reminder=False)

    report = followups_sweep()

    assert report.invitations_sent == 3
    assert {c.status for c in fresh(checkins)} == {CheckIn.Status.SENT}
    seen = received_ids(smtp)
    # The server read the dropped one before hanging up: a real second send,
    # recognisable by its Message-ID, and the only one.
    assert seen[dropped] == 2
    assert all(count == 1 for message_id, count in seen.items() if message_id != dropped)


def test_a_permanent_550_fails_the_checkin_at_once_and_puts_the_patient_on_the_queue(
        clinic, smtp, api):
    good, refused = due(clinic, "", "rcpt550")

    report = followups_sweep()

    refused = fresh([refused])[0]
    assert report.invitations_sent == 1 and report.failed == 1
    assert refused.status == CheckIn.Status.FAILED and refused.next_action_at is None
    assert refused.attempts == 1
    assert "550" in refused.last_error
    flag = Escalation.objects.get(checkin=refused)
    assert (flag.trigger, flag.level, flag.status) == ("undelivered", "review", "open")
    assert reason_message(flag.reasons[0]).startswith("Could not reach the patient")
    body = api.get(f"/api/checkins/{refused.pk}/").json()
    assert "550" in body["delivery_error"] and body["next_attempt_at"] is None
    assert fresh([good])[0].status == CheckIn.Status.SENT


def test_a_temporary_451_is_retried_with_backoff_then_given_up_at_the_cap(clinic, smtp,
                                                                           settings):
    (checkin,) = due(clinic, "rcpt451")

    report = followups_sweep()

    checkin = fresh([checkin])[0]
    assert report.failed == 0 and report.invitations_sent == 0
    assert checkin.status == CheckIn.Status.SCHEDULED and checkin.attempts == 1
    assert "451" in checkin.last_error
    assert checkin.next_action_at > timezone.now() + settings.DELIVERY_RETRY_BACKOFF / 2
    body = followups_sweep()  # nothing due again until the backoff is over
    assert body.invitations_sent == 0 and fresh([checkin])[0].attempts == 1

    for hours in range(1, settings.DELIVERY_MAX_ATTEMPTS):
        with time_machine.travel(timezone.now() + timedelta(hours=hours)):
            followups_sweep()
    checkin = fresh([checkin])[0]
    assert checkin.status == CheckIn.Status.FAILED
    assert checkin.attempts == settings.DELIVERY_MAX_ATTEMPTS
    assert Escalation.objects.filter(checkin=checkin, trigger="undelivered").count() == 1
    assert_nothing_stuck()


def test_a_server_that_hangs_is_given_up_on_and_the_message_retried_at_once(clinic, smtp):
    smtp.hang_seconds = 3  # EMAIL_TIMEOUT is 1 s here
    checkins = due(clinic, "hang-once", "", "")
    hung = checkin_message_id(checkins[0], reminder=False)

    report = followups_sweep()

    assert report.invitations_sent == 3
    assert {c.status for c in fresh(checkins)} == {CheckIn.Status.SENT}
    # The timed-out connection is dropped and the message sent on a new one;
    # the server never read the first try, so the patient gets it once.
    assert smtp.attempts[hung] == 2
    assert received_ids(smtp)[hung] == 1


def test_a_row_that_cannot_be_built_fails_only_itself_and_the_report_says_so(clinic, smtp):
    broken = ClinicFactory(name="Broken Zone Clinic", timezone="Europe/London")
    checkins = due(clinic, "", "")
    (poison,) = due(broken, "")
    # A time zone the worker cannot load (an older tzdata, a typo in the database).
    Clinic.objects.filter(pk=broken.pk).update(timezone="Mars/Olympus_Mons")

    report = followups_sweep()

    assert report.invitations_sent == 2
    assert {c.status for c in fresh(checkins)} == {CheckIn.Status.SENT}
    poison = fresh([poison])[0]
    assert poison.status == CheckIn.Status.SCHEDULED and poison.attempts == 1
    assert "not built" in poison.last_error and poison.next_action_at is not None
    assert report.errors == ["ZoneInfoNotFoundError"]
    assert_nothing_stuck()


def test_an_invalid_address_fails_at_once_without_a_send(clinic, smtp):
    (checkin,) = due(clinic, "")
    checkin.session.patient.__class__.objects.filter(pk=checkin.session.patient_id).update(
        email="not-an-address")

    report = followups_sweep()

    checkin = fresh([checkin])[0]
    assert report.failed == 1 and smtp.attempts == {}
    assert checkin.status == CheckIn.Status.FAILED and "invalid email address" in checkin.last_error


@pytest.mark.django_db(transaction=True)
def test_a_slow_server_never_lets_a_batch_outlive_its_lease(clinic, smtp, settings,
                                                           require_postgres):
    # 0.25 s a message, a 2 s lease renewed at half of it: the batch of 12
    # takes 3 s, longer than its lease; a second sweep starts once it would be over.
    settings.DELIVERY_LEASE = timedelta(seconds=2)
    smtp.delay = 0.25
    checkins = due(clinic, *[""] * 12)
    reports, errors = [], []

    def sweep():
        try:
            reports.append(followups_sweep())
        except BaseException as error:  # re-raised below
            errors.append(error)
        finally:
            connections.close_all()

    first = threading.Thread(target=sweep)
    first.start()
    threading.Event().wait(2.3)  # past the first lease: only a renewal keeps the rows
    second = threading.Thread(target=sweep)
    second.start()
    first.join(60)
    second.join(60)

    assert not errors
    assert sum(r.invitations_sent for r in reports) == 12
    assert received_ids(smtp) == Counter(
        {checkin_message_id(c, reminder=False): 1 for c in checkins})


SKEWED_SWEEP = """
import sys
from datetime import UTC, datetime, timedelta

import time_machine

with time_machine.travel(datetime.now(UTC) + timedelta(seconds=float(sys.argv[1])), tick=True):
    import django

    django.setup()
    from django.core.management import call_command

    call_command("dispatch_checkins")
"""


def skewed_dispatch(*, seconds: float, database_url: str, smtp: FaultySMTPServer, tmp_path):
    """``dispatch_checkins`` in a process whose clock is ``seconds`` off."""
    env = service_env(database_url=database_url, broker_url="memory://", var_dir=tmp_path,
                      EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                      EMAIL_HOST=smtp.host, EMAIL_PORT=str(smtp.port))
    return subprocess.Popen([sys.executable, "-c", SKEWED_SWEEP, str(seconds)], cwd=PROJECT_DIR,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.mark.real_database_clock
@pytest.mark.django_db(transaction=True)
def test_workers_with_skewed_clocks_neither_steal_nor_strand_nor_miss(
        clinic, smtp, settings, require_postgres, test_database_url, tmp_path):
    # One worker 10 minutes behind and one far ahead, sending side by side to a
    # slow server: leases and "is it due" come from the database's clock.
    smtp.delay = 0.05
    checkins = due(clinic, *[""] * 30)
    behind = skewed_dispatch(seconds=-600, database_url=test_database_url, smtp=smtp,
                             tmp_path=tmp_path)
    ahead = skewed_dispatch(seconds=5 * 24 * 3600, database_url=test_database_url, smtp=smtp,
                            tmp_path=tmp_path)
    outputs = [process.communicate(timeout=120)[0].decode() for process in (behind, ahead)]

    assert [behind.returncode, ahead.returncode] == [0, 0], outputs
    statuses = Counter(c.status for c in fresh(checkins))
    assert statuses == {CheckIn.Status.SENT: 30}, (statuses, outputs)
    assert received_ids(smtp) == Counter(
        {checkin_message_id(c, reminder=False): 1 for c in checkins})
