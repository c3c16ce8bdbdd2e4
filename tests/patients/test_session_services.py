"""Changing or cancelling a session: only staff of the session's clinic may."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from followups.models import CheckIn
from followups.sessions import session_cancel, session_update
from tests.factories import session_with_checkins


def test_it_refuses_a_change_from_staff_of_another_clinic(patient, outsider):
    session = session_with_checkins(patient=patient)

    with pytest.raises(ValidationError) as refused:
        session_update(actor=outsider, session=session, data={"treatment_area": "neck"})

    assert "session" in refused.value.message_dict
    session.refresh_from_db()
    assert session.treatment_area != "neck"


def test_it_refuses_a_cancellation_from_staff_of_another_clinic(patient, outsider):
    session = session_with_checkins(patient=patient)

    with pytest.raises(ValidationError) as refused:
        session_cancel(actor=outsider, session=session)

    assert "session" in refused.value.message_dict
    session.refresh_from_db()
    assert session.cancelled_at is None
    assert not session.checkins.filter(status=CheckIn.Status.CANCELLED).exists()


def test_it_lets_the_clinics_own_staff_change_and_cancel(patient, staff):
    session = session_with_checkins(patient=patient)

    session_update(actor=staff, session=session, data={"treatment_area": "neck"})
    session_cancel(actor=staff, session=session)

    session.refresh_from_db()
    assert session.treatment_area == "neck"
    assert session.cancelled_at is not None
