"""The OpenAPI document against the running API, with generated requests.

Schemathesis reads ``/api/schema/`` from the WSGI application and sends each
operation requests built from it, signed in as a clinic's staff member. Every
answer must be no server error, carry a status the document lists, and match
the documented body. The data below gives the generated ids something real to
hit: our clinic's patient, session, check-ins and an open urgent escalation,
and another clinic's patient that must stay out of reach.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import (
    ClinicFactory,
    PatientFactory,
    ProductFactory,
    UserFactory,
    response_for,
    session_with_checkins,
)

# 25 examples per operation keeps the module well under two minutes; set
# SCHEMATHESIS_MAX_EXAMPLES=500 for a deeper run before a release.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
CHECKS = (not_a_server_error, status_code_conformance, response_schema_conformance)


@pytest.fixture
def api_schema(staff_token):
    from django.core.wsgi import get_wsgi_application

    # The document is for signed-in staff: read with the nurse's token.
    return schemathesis.from_wsgi("/api/schema/", get_wsgi_application(),
                                  headers={"Authorization": f"Token {staff_token}"})


schema = schemathesis.from_pytest_fixture("api_schema")


@pytest.fixture
def staff_token():
    """A clinic with a patient at each stage of follow-up; the token of its nurse."""
    clinic = ClinicFactory(name="Riverside Skin Clinic", timezone="Europe/London")
    nurse = UserFactory(username="nurse", clinics=[clinic])
    cream = ProductFactory(name="LidoNumb 5%", kind="numbing_cream", ingredients=["lidocaine"])
    patient = PatientFactory(clinic=clinic, known_allergies=["lidocaine"])
    session = session_with_checkins(
        patient=patient, practitioner=nurse,
        products=[{"product": cream, "phase": "pre", "lot_number": "LN-0425"}],
    )
    response_for(session.checkins.get(day=2), fever=True)  # an open urgent escalation
    session_with_checkins(patient=PatientFactory(clinic=clinic))
    session_with_checkins(patient=PatientFactory(clinic=ClinicFactory(name="Hilltop")))
    return AuthToken.objects.create(user=nurse)[1]


@pytest.mark.django_db(transaction=True, reset_sequences=True)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_it_answers_every_generated_request_as_documented(case, staff_token):
    response = case.call_wsgi(headers={"Authorization": f"Token {staff_token}"})

    case.validate_response(response, checks=CHECKS)


def test_the_openapi_document_is_valid_and_free_of_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", os.devnull)
