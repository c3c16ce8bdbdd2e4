"""The link lookup: the check-in behind a link, with its session, patient and clinic: one query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from followups.link.tokens import token_new
from followups.models import CheckIn, CheckInLink
from followups.selectors import (
    checkin_earlier_responses,
    checkin_for_token,
    session_ingredients,
)
from followups.services import response_record
from patients.models import Clinic, Patient, TreatmentSession
from tests.factories import (
    NORMAL_ANSWERS,
    PatientFactory,
    ProductFactory,
    session_with_checkins,
)

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname)
            for field in instance._meta.concrete_fields}


@pytest.fixture
def linked(clinic):
    patient = PatientFactory(clinic=clinic, known_allergies=["lidocaine", "fragrance"],
                             acne_prone=True)
    # Eight days ago: day 2 and day 7 have both fallen due, so both take answers.
    session = session_with_checkins(patient=patient,
                                    performed_at=timezone.now() - timedelta(days=8))
    checkin = session.checkins.get(day=2)
    return checkin, _link_to(checkin)


def _link_to(checkin) -> str:
    """A live link to the check-in, as its email carries; the token it holds."""
    token, hashed = token_new()
    CheckInLink.objects.create(checkin=checkin, token_hash=hashed,
                               expires_at=timezone.now() + timedelta(hours=72))
    return token


@pytest.fixture
def day_seven_link(linked):
    """Day 2 answered with a moderate rash; the day-7 check-in, and a link to it."""
    day_two, token = linked
    response_record(checkin=checkin_for_token(token=token),
                    answers={**NORMAL_ANSWERS, "rash": "moderate", "rash_trend": "same"},
                    channel="patient_link")
    day_seven = day_two.session.checkins.get(day=7)
    return day_two, day_seven, _link_to(day_seven)


def test_it_loads_the_checkin_session_patient_and_clinic_in_one_query(
        linked, django_assert_num_queries):
    checkin, token = linked
    expected = CheckIn.objects.select_related("session__patient__clinic").get(pk=checkin.pk)

    # A day-2 link: nothing comes before it, so nothing more is read.
    with django_assert_num_queries(1):
        found = checkin_for_token(token=token)
    with django_assert_num_queries(0):
        session, patient, clinic = found.session, found.session.patient, \
            found.session.patient.clinic

    assert _fields(found) == _fields(expected)
    assert _fields(session) == _fields(expected.session)
    assert _fields(patient) == _fields(expected.session.patient)
    assert _fields(clinic) == _fields(expected.session.patient.clinic)
    assert patient.known_allergies == ["lidocaine", "fragrance"]
    assert timezone.is_aware(found.due_at) and timezone.is_aware(session.performed_at)
    assert [type(found), type(session), type(patient), type(clinic)] == [
        CheckIn, TreatmentSession, Patient, Clinic]
    assert not found._state.adding and found._state.db == "default"


def test_what_it_loads_can_be_saved_and_answered(linked):
    checkin, token = linked

    response = response_record(checkin=checkin_for_token(token=token), answers=NORMAL_ANSWERS,
                               channel="patient_link")

    assert response.checkin.status == CheckIn.Status.COMPLETED
    assert CheckIn.objects.get(pk=checkin.pk).status == CheckIn.Status.COMPLETED
    assert checkin_for_token(token=token) is None  # used


@pytest.mark.parametrize("dead", ["revoked", "expired", "answered", "cancelled", "failed"])
def test_it_finds_nothing_behind_a_dead_link(linked, dead):
    checkin, token = linked
    now = timezone.now()
    assert checkin_for_token(token=token).pk == checkin.pk
    if dead == "revoked":
        CheckInLink.objects.filter(checkin=checkin).update(revoked_at=now)
    elif dead == "expired":
        CheckInLink.objects.filter(checkin=checkin).update(expires_at=now - timedelta(seconds=1))
    elif dead == "answered":
        CheckIn.objects.filter(pk=checkin.pk).update(status=CheckIn.Status.COMPLETED,
                                                     completed_at=now, next_action_at=None)
    elif dead == "cancelled":
        TreatmentSession.objects.filter(pk=checkin.session_id).update(cancelled_at=now)
    else:
        CheckIn.objects.filter(pk=checkin.pk).update(status=CheckIn.Status.FAILED,
                                                     next_action_at=None)

    assert checkin_for_token(token=token) is None


def test_postgresql_keeps_the_lookup_prepared_on_the_connection(linked, require_postgres):
    _, token = linked
    for _ in range(6):  # psycopg prepares a statement on its 5th run on a connection
        assert checkin_for_token(token=token) is not None

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]

    assert any("followups_checkinlink" in statement and "token_hash" in statement
               for statement in statements), statements


def test_the_earlier_answers_come_back_as_stored(linked):
    checkin, token = linked
    day_two = response_record(checkin=checkin_for_token(token=token),
                              answers={**NORMAL_ANSWERS, "rash": "mild", "rash_trend": "better",
                                       "fever": True, "comments": "itchy"},
                              channel="patient_link")

    day_seven = CheckIn.objects.get(session_id=checkin.session_id, day=7)
    earlier = checkin_earlier_responses(checkin=day_seven)

    assert [response.pk for response in earlier] == [day_two.pk]
    assert _fields(earlier[0]) == _fields(type(day_two).objects.get(pk=day_two.pk))
    assert earlier[0].fever is True and earlier[0].pus is False
    assert checkin_earlier_responses(checkin=CheckIn.objects.get(pk=checkin.pk)) == []


def test_the_session_ingredients_come_back_in_the_order_applied(clinic):
    numbing = ProductFactory(name="Numbing cream", kind="numbing_cream",
                             ingredients=["lidocaine", "prilocaine"])
    serum = ProductFactory(name="Vitamin serum", ingredients=["ascorbic acid"])
    empty = ProductFactory(name="Plain gel", ingredients=[])
    session = session_with_checkins(
        patient=PatientFactory(clinic=clinic),
        products=[{"product": numbing, "phase": "pre", "lot_number": "N-1"},
                  {"product": serum, "phase": "post", "lot_number": "S-1"},
                  {"product": empty, "phase": "post", "lot_number": "G-1"}],
    )
    through_the_orm = [name for application in session.applications.select_related("product")
                       for name in application.product.ingredients]

    names = session_ingredients(session=session)

    assert names == through_the_orm == ["lidocaine", "prilocaine", "ascorbic acid"]
    assert session_ingredients(session=session_with_checkins(
        patient=PatientFactory(clinic=clinic))) == []


def test_the_day_7_link_is_one_query_and_its_answers_read_day_2_only_to_compare(
        day_seven_link, django_assert_num_queries):
    day_two, day_seven, token = day_seven_link

    with django_assert_num_queries(1):
        found = checkin_for_token(token=token)
    with django_assert_num_queries(1):
        earlier = checkin_earlier_responses(checkin=found)

    assert _fields(found) == _fields(CheckIn.objects.get(pk=day_seven.pk))
    assert [_fields(response) for response in earlier] == [
        _fields(response) for response in type(earlier[0]).objects.filter(checkin=day_two)]
    assert earlier[0].rash == "moderate"
    # The rash rose since day 2: flagged by comparing with day 2's answers.
    with CaptureQueriesContext(connection) as rising:
        recorded = response_record(checkin=found, answers={**NORMAL_ANSWERS, "rash": "severe",
                                                            "rash_trend": "same"},
                                   channel="patient_link")
    assert "RASH_WORSENING" in {reason["code"] for reason in recorded.assessment_reasons}
    assert _earlier_reads(rising) == 1


def test_healed_skin_at_day_7_is_answered_without_reading_day_2(day_seven_link):
    _day_two, _day_seven, token = day_seven_link

    # No rash and no breakouts left: nothing to compare with day 2.
    with CaptureQueriesContext(connection) as healed:
        recorded = response_record(checkin=checkin_for_token(token=token),
                                   answers={**NORMAL_ANSWERS, "rash": "none", "rash_trend": "",
                                            "swelling": "none"},
                                   channel="patient_link")

    assert recorded.assessment_level == "none"
    assert _earlier_reads(healed) == 0


def _earlier_reads(queries: CaptureQueriesContext) -> int:
    """The statements that read answers (the session's earlier ones), not write them."""
    return sum(query["sql"].lstrip().upper().startswith("SELECT")
               and "followups_checkinresponse" in query["sql"] for query in queries)


def test_a_link_with_no_earlier_answers_brings_none(linked):
    day_two, _token = linked
    day_seven = day_two.session.checkins.get(day=7)  # day 2 never answered
    found = checkin_for_token(token=_link_to(day_seven))

    assert checkin_earlier_responses(checkin=found) == []
    assert checkin_earlier_responses(checkin=checkin_for_token(token=linked[1])) == []
