"""A network-wide user's dashboard reads the network's counts from a periodic snapshot.

The snapshot is compared with direct counts of the rows; the page shows when
it was counted, keeps the flags live, and a single clinic's staff keep live
figures throughout.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db.models import Q

from followups.desk.dashboard import group_scope
from followups.desk.snapshot import (
    NETWORK,
    dashboard_snapshots_refresh,
    group_snapshot_refresh,
    network_snapshot_refresh,
)
from followups.models import CheckIn, CheckInResponse, DashboardSnapshot, Escalation
from followups.tasks import dashboard_snapshot
from tests.admin.builders import flag_patient
from tests.admin.test_dashboard import figures, session_days_ago
from tests.admin.test_queries import count_queries
from tests.factories import ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def network(now, clinic, staff, other_clinic, outsider):
    """Two clinics in two time zones: flags, a check-in sent, one failed, one missed."""
    flag_patient(clinic, staff, index=1, performed_at=NOW - timedelta(days=2, hours=3))
    flag_patient(other_clinic, outsider, index=2, level="review",
                 performed_at=NOW - timedelta(days=2, hours=3))
    sent = session_days_ago(clinic, staff, 2).checkins.get(day=2)
    CheckIn.objects.filter(pk=sent.pk).update(status="sent", sent_at=NOW - timedelta(hours=5))
    failed = session_days_ago(other_clinic, outsider, 9).checkins.get(day=7)
    CheckIn.objects.filter(pk=failed.pk).update(status="failed", next_action_at=None)
    missed = session_days_ago(other_clinic, outsider, 10).checkins.get(day=7)
    CheckIn.objects.filter(pk=missed.pk).update(status="missed", next_action_at=None)


def test_it_stores_the_same_counts_as_a_direct_count_of_the_rows(network):
    counts = network_snapshot_refresh(now=NOW).counts

    checkins = counts["checkins"]
    assert checkins["awaiting"] == CheckIn.objects.filter(status="sent").count() == 1
    assert checkins["failed"] == CheckIn.objects.filter(status="failed").count() == 1
    assert checkins["missed"] == CheckIn.objects.filter(
        status="missed", due_at__gte=NOW - timedelta(days=7)).count() == 1
    assert counts["comments"]["waiting"] == CheckInResponse.objects.filter(
        comment_waiting=True).count()
    since = NOW - timedelta(days=30)
    activity = counts["activity"]
    assert len(activity["days"]) == 30
    assert date.fromisoformat(activity["days"][-1]) == NOW.date()
    assert sum(activity["counts"]["sent"]) == CheckIn.objects.filter(
        sent_at__gte=since).count() == 1
    assert sum(activity["counts"]["answered"]) == CheckInResponse.objects.filter(
        submitted_at__gte=since).count() == 2
    assert sum(activity["counts"]["urgent"]) + sum(activity["counts"]["review"]) == (
        Escalation.objects.filter(created_at__gte=since).filter(
            Q(level="urgent") | Q(level="review")).count()) == 2
    assert counts["desk"]["checkins_sent"] == 1


def test_it_shows_a_superuser_the_snapshot_and_when_it_was_counted(superuser_client, network,
                                                                  clinic, staff):
    network_snapshot_refresh(now=NOW - timedelta(minutes=4))
    # Sent after the snapshot: the network's page shows it at the next count.
    later = session_days_ago(clinic, staff, 2).checkins.get(day=2)
    CheckIn.objects.filter(pk=later.pk).update(status="sent", sent_at=NOW - timedelta(minutes=1))

    response = superuser_client.get("/admin/")

    shown = figures(response)
    assert shown["Sent, not answered yet"].value == "1"
    assert response.context["dashboard"].as_of == NOW - timedelta(minutes=4)
    assert "as of 14:56" in response.content.decode()  # on the site's clock (TIME_ZONE)


def test_it_counts_flags_live_beside_the_snapshot(superuser_client, network, clinic, staff):
    network_snapshot_refresh(now=NOW - timedelta(minutes=4))
    flag_patient(clinic, staff, index=3)

    assert figures(superuser_client.get("/admin/"))["Urgent, not resolved"].value == "2"


def test_it_counts_live_for_a_clinics_staff(staff_client, network, clinic, staff):
    network_snapshot_refresh(now=NOW - timedelta(minutes=4))
    later = session_days_ago(clinic, staff, 2).checkins.get(day=2)
    CheckIn.objects.filter(pk=later.pk).update(status="sent", sent_at=NOW - timedelta(minutes=1))

    response = staff_client.get("/admin/")

    assert figures(response)["Sent, not answered yet"].value == "2"
    assert response.context["dashboard"].as_of is None
    assert "as of" not in response.content.decode()


def test_it_counts_live_when_the_snapshot_is_too_old(superuser_client, network, settings):
    network_snapshot_refresh(now=NOW - 3 * settings.DASHBOARD_SNAPSHOT_EVERY)
    CheckIn.objects.filter(status="failed").update(status="sent", sent_at=NOW)

    response = superuser_client.get("/admin/")

    assert response.context["dashboard"].as_of is None
    assert figures(response)["Sent, not answered yet"].value == "2"


def test_it_shows_the_snapshot_to_a_member_of_every_clinic(client, network, clinic,
                                                          other_clinic, monkeypatch):
    monkeypatch.setattr("followups.desk.dashboard.NETWORK_FROM_CLINICS", 2)
    everywhere = UserFactory(username="regional", clinics=[clinic, other_clinic])
    network_snapshot_refresh(now=NOW - timedelta(minutes=4))
    client.force_login(everywhere)

    assert client.get("/admin/").context["dashboard"].as_of == NOW - timedelta(minutes=4)

    ClinicFactory(name="Lakeside Clinic")  # no longer every clinic: their own, live
    assert client.get("/admin/").context["dashboard"].as_of is None


def test_it_reads_the_snapshot_in_the_same_statements_whatever_the_network(
        superuser_client, network, outsider):
    def clinics_join(first: int, last: int) -> None:
        for index in range(first, last):
            extra = ClinicFactory(name=f"Clinic {index}", timezone="Asia/Tokyo")
            flag_patient(extra, UserFactory(username=f"nurse-{index}", clinics=[extra]),
                         index=10 + index)
        network_snapshot_refresh(now=NOW - timedelta(minutes=4))

    clinics_join(0, 1)
    small = count_queries(superuser_client, "/admin/")
    clinics_join(1, 4)

    assert count_queries(superuser_client, "/admin/") == small


def test_the_task_counts_on_the_database_clock_with_no_arguments(db):
    from core.clock import database_now

    before = database_now()
    dashboard_snapshot.apply(args=())

    snapshot = DashboardSnapshot.objects.get(scope=NETWORK)
    assert before <= snapshot.computed_at <= database_now()
    assert DashboardSnapshot.objects.count() == 1
    dashboard_snapshot.apply(args=())
    assert DashboardSnapshot.objects.count() == 1  # the row is replaced, not added to


# A member of many clinics: the snapshot of their own set of clinics -------------------


@pytest.fixture
def many_clinics_from_two(monkeypatch):
    """Two clinics count as "many" here, as ten do in the product."""
    monkeypatch.setattr("followups.desk.dashboard.GROUP_SNAPSHOT_FROM_CLINICS", 2)
    monkeypatch.setattr("followups.desk.snapshot.GROUP_SNAPSHOT_FROM_CLINICS", 2)


@pytest.fixture
def regional(network, clinic, staff, many_clinics_from_two):
    """A member of the clinic and a third one; not of other_clinic (whose check-ins failed
    and were missed)."""
    third = ClinicFactory(name="Lakeside Clinic")
    sent = session_days_ago(third, staff, 2).checkins.get(day=2)
    CheckIn.objects.filter(pk=sent.pk).update(status="sent", sent_at=NOW - timedelta(hours=2))
    return UserFactory(username="regional", clinics=[clinic, third])


def test_a_member_of_many_clinics_reads_their_clinics_snapshot(client, regional, clinic, staff):
    dashboard_snapshots_refresh(now=NOW - timedelta(minutes=4))
    # Sent after the count: shown at the next one.
    later = session_days_ago(clinic, staff, 2).checkins.get(day=2)
    CheckIn.objects.filter(pk=later.pk).update(status="sent", sent_at=NOW - timedelta(minutes=1))
    client.force_login(regional)

    response = client.get("/admin/")

    assert response.context["dashboard"].as_of == NOW - timedelta(minutes=4)
    shown = figures(response)
    assert shown["Sent, not answered yet"].value == "2"  # one at each of their clinics
    assert shown["Emails that failed to send"].value == "0"  # other_clinic's is not theirs
    assert shown["Missed (last 7 days)"].value == "0"


def test_the_snapshot_of_a_set_holds_the_same_counts_as_counting_it_live(
        client, regional, clinic):
    client.force_login(regional)
    live = {label: figure.value for label, figure in figures(client.get("/admin/")).items()}

    dashboard_snapshots_refresh(now=NOW - timedelta(minutes=1))
    response = client.get("/admin/")

    assert response.context["dashboard"].as_of is not None
    assert {label: figure.value for label, figure in figures(response).items()} == live


def test_a_member_whose_clinics_changed_is_counted_live_until_the_next_count(
        client, regional, other_clinic):
    dashboard_snapshots_refresh(now=NOW - timedelta(minutes=4))
    regional.clinic_memberships.create(clinic=other_clinic)
    client.force_login(regional)

    response = client.get("/admin/")

    assert response.context["dashboard"].as_of is None
    assert figures(response)["Emails that failed to send"].value == "1"  # now theirs, live
    dashboard_snapshots_refresh(now=NOW - timedelta(minutes=1))
    assert client.get("/admin/").context["dashboard"].as_of == NOW - timedelta(minutes=1)


def test_a_snapshot_whose_clinics_differ_from_the_users_is_never_shown(
        client, regional, clinic, other_clinic):
    """The scope is a digest of the ids; the ids stored beside the counts are checked too."""
    mine = frozenset(regional.clinic_memberships.values_list("clinic_id", flat=True))
    group_snapshot_refresh(frozenset({clinic.pk, other_clinic.pk}), now=NOW - timedelta(minutes=1))
    DashboardSnapshot.objects.filter(scope=group_scope({clinic.pk, other_clinic.pk})).update(
        scope=group_scope(mine))  # as if the two digests collided
    client.force_login(regional)

    response = client.get("/admin/")

    assert response.context["dashboard"].as_of is None
    assert figures(response)["Emails that failed to send"].value == "0"


def test_a_set_nobody_belongs_to_any_more_loses_its_snapshot(regional, clinic):
    dashboard_snapshots_refresh(now=NOW - timedelta(minutes=4))
    assert DashboardSnapshot.objects.filter(scope__startswith="clinics:").count() == 1

    regional.clinic_memberships.exclude(clinic=clinic).delete()
    dashboard_snapshots_refresh(now=NOW)

    assert list(DashboardSnapshot.objects.values_list("scope", flat=True)) == [NETWORK]


def test_a_member_of_few_clinics_is_always_counted_live(client, network, clinic, staff):
    """Below GROUP_SNAPSHOT_FROM_CLINICS (ten), no snapshot is counted or read."""
    two = UserFactory(username="two-clinics", clinics=[clinic, ClinicFactory(name="Lakeside")])
    dashboard_snapshots_refresh(now=NOW - timedelta(minutes=4))
    client.force_login(two)

    assert client.get("/admin/").context["dashboard"].as_of is None
    assert list(DashboardSnapshot.objects.values_list("scope", flat=True)) == [NETWORK]


def test_a_member_of_every_clinic_costs_no_second_count_of_the_network(
        client, network, clinic, other_clinic, many_clinics_from_two, monkeypatch):
    monkeypatch.setattr("followups.desk.dashboard.NETWORK_FROM_CLINICS", 2)
    everywhere = UserFactory(username="regional", clinics=[clinic, other_clinic])

    dashboard_snapshots_refresh(now=NOW - timedelta(minutes=4))

    assert list(DashboardSnapshot.objects.values_list("scope", flat=True)) == [NETWORK]
    client.force_login(everywhere)
    assert client.get("/admin/").context["dashboard"].as_of == NOW - timedelta(minutes=4)
