"""A patient who opens their link while the database is down gets a calm page, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from followups.link.tokens import token_new
from followups.models import CheckIn, CheckInLink
from tests.factories import PatientFactory, session_with_checkins
from tests.support.net import free_port

pytestmark = pytest.mark.django_db(transaction=True)

FORM = {"rash": "none", "breakouts": "none", "itching": "none", "swelling": "none",
        "pain": "none", "fever": "no", "pus": "no", "hives": "no", "comments": ""}


@pytest.fixture
def link(clinic):
    session = session_with_checkins(patient=PatientFactory(clinic=clinic),
                                    performed_at=timezone.now() - timedelta(days=2))
    checkin = session.checkins.get(day=2)
    CheckIn.objects.filter(pk=checkin.pk).update(status=CheckIn.Status.SENT,
                                                 sent_at=timezone.now())
    token, hashed = token_new()
    CheckInLink.objects.create(checkin=checkin, token_hash=hashed,
                               expires_at=timezone.now() + timedelta(hours=72))
    return checkin, f"/c/{token}/"


class Database:
    """Stops and starts answering: the connection points at a closed port, then back."""

    def __init__(self) -> None:
        self.port = connection.settings_dict["PORT"]

    def down(self) -> None:
        connection.close()
        connection.settings_dict["PORT"] = str(free_port())

    def up(self) -> None:
        connection.close()
        connection.settings_dict["PORT"] = self.port


@pytest.fixture
def database(require_postgres):
    database = Database()
    yield database
    database.up()


def test_it_answers_a_calm_503_while_the_database_is_down(client, link, database):
    _checkin, url = link
    database.down()

    opened = client.get(url)
    posted = client.post(url, FORM)

    for response in (opened, posted):
        assert response.status_code == 503
        assert response["Retry-After"] == "300"
        assert response["Cache-Control"] == "no-store"
        page = response.content.decode()
        assert "Please try again in a few minutes" in page
        assert "Server Error" not in page


def test_the_link_works_once_the_database_is_back(afternoon, client, link, database):
    checkin, url = link
    database.down()
    assert client.post(url, FORM).status_code == 503

    database.up()
    assert client.get(url).status_code == 200
    assert client.post(url, FORM).status_code == 200
    assert CheckIn.objects.get(pk=checkin.pk).status == CheckIn.Status.COMPLETED
