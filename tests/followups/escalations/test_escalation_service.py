"""Escalations: raised once, urgent ones reach a person, clusters are noticed."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from followups.delivery.sweep import followups_sweep
from followups.escalations.clusters import escalation_clusters_process
from followups.escalations.services import (
    escalation_acknowledge,
    escalation_raise_for_assessment,
    escalation_resolve,
    response_assess,
)
from followups.models import ClusterSignal, Escalation
from followups.selectors import patients_for_user
from tests.factories import (
    PatientFactory,
    ProductFactory,
    UserFactory,
    response_for,
    session_with_checkins,
)

pytestmark = pytest.mark.django_db


def answered(patient, **answers):
    session = session_with_checkins(patient=patient)
    return response_for(session.checkins.get(day=2), **answers)


def test_it_raises_nothing_for_normal_healing(patient):
    response = answered(patient)

    assert response.assessment_level == "none"
    assert not Escalation.objects.exists()


def test_it_raises_one_urgent_escalation_with_reasons_and_sources(patient):
    response = answered(patient, fever=True, rash="moderate", rash_trend="worse")

    escalation = Escalation.objects.get()
    assert escalation.level == "urgent"
    assert [r["code"] for r in escalation.reasons] == ["FEVER", "RASH_WORSENING"]
    assert all(r["source"].startswith("000_eb7b0212037e7f6e.txt") for r in escalation.reasons)
    assert response.assessment_level == "urgent"


def test_evaluating_the_same_answers_again_never_raises_a_second(patient):
    response = answered(patient, pus=True)

    now = timezone.now()
    assessment = response_assess(response=response, now=now)
    assert escalation_raise_for_assessment(response=response, assessment=assessment,
                                           now=now) is None
    assert Escalation.objects.count() == 1


def test_the_patients_open_level_is_the_highest_unresolved(patient, staff):
    answered(patient, swelling="severe")
    urgent_response = answered(patient, fever=True)

    def level():
        return patients_for_user(staff).get(pk=patient.pk).open_escalation_level

    assert level() == "urgent"
    escalation_resolve(escalation=urgent_response.escalation, actor=staff, note="Seen by GP")
    assert level() == "review"


def test_it_alerts_the_clinic_at_once_and_everyone_at_the_deadline(patient, staff, settings):
    colleague = UserFactory(username="colleague", clinics=[patient.clinic])
    answered(patient, fever=True)
    escalation = Escalation.objects.get()

    followups_sweep()
    [alert] = mail.outbox
    assert alert.to == [patient.clinic.email]
    assert f"/admin/followups/escalation/{escalation.pk}/change/" in alert.body
    assert "fever" not in alert.body.lower() and patient.last_name not in alert.body

    just_before = escalation.created_at + settings.URGENT_ACK_DEADLINE - timedelta(seconds=1)
    with time_machine.travel(just_before):
        followups_sweep()
    assert len(mail.outbox) == 1

    with time_machine.travel(escalation.created_at + settings.URGENT_ACK_DEADLINE):
        followups_sweep()
        followups_sweep()
    assert len(mail.outbox) == 2
    members = set(patient.clinic.members.values_list("email", flat=True))
    assert {staff.email, colleague.email} <= members
    assert sorted(mail.outbox[1].to) == sorted(members)


def test_an_acknowledged_escalation_is_not_chased(patient, staff, settings):
    answered(patient, pus=True)
    escalation = Escalation.objects.get()
    followups_sweep()
    escalation_acknowledge(escalation=escalation, actor=staff)

    with time_machine.travel(escalation.created_at + settings.URGENT_ACK_DEADLINE * 2):
        followups_sweep()

    assert len(mail.outbox) == 1


def test_resolving_needs_a_note(patient, staff):
    from django.core.exceptions import ValidationError

    answered(patient, hives=True)
    escalation = Escalation.objects.get()

    with pytest.raises(ValidationError):
        escalation_resolve(escalation=escalation, actor=staff, note="   ")
    resolved = escalation_resolve(escalation=escalation, actor=staff, note="Antihistamine")
    assert (resolved.status, resolved.resolved_by, resolved.acknowledged_by) == (
        "resolved", staff, staff)


def test_it_raises_a_lot_cluster_at_three_patients(clinic):
    serum = ProductFactory(name="Serum X", ingredients=["peptide"])
    practitioner = UserFactory(username="pract", clinics=[clinic])
    patients = [PatientFactory(clinic=clinic) for _ in range(3)]

    def treat_and_flag(patient, lot):
        session = session_with_checkins(
            patient=patient, practitioner=practitioner,
            products=[{"product": serum, "phase": "post", "lot_number": lot}],
        )
        response_for(session.checkins.get(day=2), rash="severe", rash_trend="worse")
        escalation_clusters_process()

    treat_and_flag(patients[0], "LOT-A")
    treat_and_flag(patients[1], "LOT-A")
    treat_and_flag(PatientFactory(clinic=clinic), "LOT-B")
    assert not ClusterSignal.objects.exists()

    treat_and_flag(patients[2], "LOT-A")

    signal = ClusterSignal.objects.get(kind="product_lot")
    assert (signal.product, signal.lot_number) == (serum, "LOT-A")
    assert set(signal.patients.all()) == set(patients)
    assert "SEVERE_RASH" in signal.reason_codes


def test_it_raises_a_practitioner_cluster_for_infections(clinic):
    practitioner = UserFactory(username="pract", clinics=[clinic])
    for flag in ({"pus": True}, {"fever": True}, {"pus": True}):
        session = session_with_checkins(patient=PatientFactory(clinic=clinic),
                                        practitioner=practitioner)
        response_for(session.checkins.get(day=2), **flag)
    assert not ClusterSignal.objects.exists()  # the sweep looks, not the answer's request

    assert escalation_clusters_process() == 3
    signal = ClusterSignal.objects.get(kind="practitioner")
    assert signal.practitioner == practitioner
    assert signal.patients.count() == 3
    assert signal.reason_codes == ["FEVER", "PUS"]


def test_infections_of_one_patient_do_not_make_a_cluster(clinic):
    practitioner = UserFactory(username="pract", clinics=[clinic])
    patient = PatientFactory(clinic=clinic)
    for _ in range(3):
        session = session_with_checkins(patient=patient, practitioner=practitioner)
        response_for(session.checkins.get(day=2), pus=True)
        escalation_clusters_process()

    assert not ClusterSignal.objects.exists()


def test_old_sessions_fall_out_of_the_cluster_window(clinic, settings):
    practitioner = UserFactory(username="pract", clinics=[clinic])
    long_ago = timezone.now() - timedelta(days=settings.CLUSTER_WINDOW_DAYS + 5)
    for performed in (long_ago, timezone.now() - timedelta(days=3),
                      timezone.now() - timedelta(days=4)):
        session = session_with_checkins(patient=PatientFactory(clinic=clinic),
                                        practitioner=practitioner, performed_at=performed)
        response_for(session.checkins.get(day=2), pus=True)
        escalation_clusters_process()

    assert not ClusterSignal.objects.exists()


def _infection(clinic, practitioner, performed_at=None):
    session = session_with_checkins(patient=PatientFactory(clinic=clinic),
                                    practitioner=practitioner,
                                    performed_at=performed_at
                                    or timezone.now() - timedelta(days=3))
    response_for(session.checkins.get(day=2), pus=True)
    escalation_clusters_process()
    return session.patient


def test_an_open_signal_takes_in_later_escalations_and_keeps_the_earlier_ones(clinic, settings):
    practitioner = UserFactory(username="pract", clinics=[clinic])
    start = timezone.now()
    first = [_infection(clinic, practitioner) for _ in range(3)]
    assert ClusterSignal.objects.get().patients.count() == 3

    # Past the window of the first three: the open signal still holds them.
    with time_machine.travel(start + timedelta(days=settings.CLUSTER_WINDOW_DAYS + 5)):
        fourth = _infection(clinic, practitioner)

    signal = ClusterSignal.objects.get()
    assert set(signal.patients.all()) == {*first, fourth}
    assert signal.escalations.count() == 4
    assert signal.reason_codes == ["PUS"]


def test_a_closed_signal_is_not_extended_a_new_one_starts_at_the_threshold(clinic, staff):
    from followups.escalations.clusters import cluster_signal_close

    practitioner = UserFactory(username="pract", clinics=[clinic])
    for _ in range(3):
        _infection(clinic, practitioner)
    closed = cluster_signal_close(signal=ClusterSignal.objects.get(), actor=staff)

    later = _infection(clinic, practitioner)

    closed.refresh_from_db()
    assert closed.patients.count() == 3 and closed.status == "closed"
    reopened = ClusterSignal.objects.get(status="open")
    assert reopened.patients.count() == 4 and later in reopened.patients.all()


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_racing_to_raise_one_signal_the_loser_joins_the_winner(
        require_postgres, clinic):
    """One open signal per key: the sweep that loses the race joins the winner's signal."""
    import threading
    import time

    import psycopg
    from django.db import connection, transaction

    practitioner = UserFactory(username="pract", clinics=[clinic])
    earlier = [_infection(clinic, practitioner) for _ in range(2)]
    racing_session = session_with_checkins(patient=PatientFactory(clinic=clinic),
                                           practitioner=practitioner)
    response_for(racing_session.checkins.get(day=2), pus=True)
    racing = Escalation.objects.get(session=racing_session)
    outcome: dict = {}

    def sweep():
        try:
            outcome["checked"] = escalation_clusters_process()
        except BaseException as error:  # reported by the main thread
            outcome["error"] = error
        finally:
            connection.close()

    settings = connection.settings_dict
    with psycopg.connect(dbname=settings["NAME"], user=settings["USER"],
                         host=settings["HOST"], port=settings["PORT"] or 5432,
                         autocommit=True) as observer:
        with transaction.atomic():
            # Another sweep has raised the signal and not committed yet.
            winner = ClusterSignal.objects.create(
                clinic=clinic, key=f"practitioner:{practitioner.pk}", kind="practitioner",
                practitioner=practitioner, reason_codes=["PUS"], created_at=timezone.now(),
                updated_at=timezone.now(),
            )
            winner.patients.add(*earlier)
            racer = threading.Thread(target=sweep)
            racer.start()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # until the racer waits on that insert
                waiting = observer.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                    " AND wait_event_type = 'Lock'", [settings["NAME"]]).fetchone()[0]
                if waiting:
                    break
                time.sleep(0.02)
            assert waiting, "the racing sweep never reached the signal's insert"
        racer.join(timeout=30)

    assert "error" not in outcome, outcome.get("error")
    assert outcome["checked"] == 1
    signal = ClusterSignal.objects.get(status="open")
    assert signal.pk == winner.pk
    assert signal.escalations.filter(pk=racing.pk).exists()
    assert set(signal.patients.all()) == {*earlier, racing_session.patient}
    racing.refresh_from_db()
    assert racing.clusters_checked_at is not None


def test_an_escalation_without_a_cluster_reason_never_waits_for_the_sweep(patient):
    answered(patient, pain="severe")

    escalation = Escalation.objects.get()
    assert escalation.clusters_checked_at == escalation.created_at
    assert escalation_clusters_process() == 0


def test_the_sweep_looks_for_clusters_and_reports_how_many_it_checked(clinic):
    practitioner = UserFactory(username="pract", clinics=[clinic])
    for _ in range(3):
        session = session_with_checkins(patient=PatientFactory(clinic=clinic),
                                        practitioner=practitioner)
        response_for(session.checkins.get(day=2), fever=True)
    assert Escalation.objects.filter(clusters_checked_at__isnull=True).count() == 3

    report = followups_sweep()

    assert report.clusters_checked == 3
    assert ClusterSignal.objects.get().patients.count() == 3
    assert not Escalation.objects.filter(clusters_checked_at__isnull=True).exists()
    assert followups_sweep().clusters_checked == 0


def test_a_failed_cluster_check_waits_for_the_next_sweep_and_the_others_go_on(
        clinic, monkeypatch, caplog):
    from followups.escalations import clusters

    practitioner = UserFactory(username="pract", clinics=[clinic])
    for _ in range(3):
        session = session_with_checkins(patient=PatientFactory(clinic=clinic),
                                        practitioner=practitioner)
        response_for(session.checkins.get(day=2), pus=True)
    first, *others = Escalation.objects.order_by("created_at", "id")
    real_update = clusters.cluster_signals_update

    def failing_for_the_first(*, escalation, now):
        if escalation.pk == first.pk:
            raise RuntimeError("database went away")
        return real_update(escalation=escalation, now=now)

    monkeypatch.setattr(clusters, "cluster_signals_update", failing_for_the_first)
    assert escalation_clusters_process() == 2
    assert list(Escalation.objects.filter(clusters_checked_at__isnull=True)) == [first]
    assert f"escalation #{first.pk}: cluster check failed" in caplog.text

    monkeypatch.setattr(clusters, "cluster_signals_update", real_update)
    assert escalation_clusters_process() == 1
    assert ClusterSignal.objects.get().patients.count() == 3
