"""The whole of a patient's rights and other systems, walked through once.

A patient answers (with a photo, into S3 on moto's real server) and is
flagged; the clinic's webhook receiver, a real HTTP server on loopback, gets
a signed ``escalation.raised``; FHIR searches return the answers and the flag,
and every resource parses with fhir.resources' R4B models; the export Bundle
holds the record and the photo; erasure removes the identity and the photo
file from the bucket, and the FHIR Patient no longer names them; the
retention task erases a patient last seen eleven years ago.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient as FhirPatient

from followups.models import CheckInLink, CheckInResponse, Escalation
from followups.records.fhir import MODELS
from followups.records.models import PatientErasure
from followups.records.tasks import retention
from followups.webhooks.delivery import webhooks_deliver_due
from followups.webhooks.models import WebhookDelivery
from followups.webhooks.signing import SIGNATURE_HEADER, signature_valid
from patients.models import Patient
from tests.factories import PatientFactory, SessionFactory
from tests.followups.link.test_patient_form import FORM_ANSWERS, link_url, sent_checkin_with_link
from tests.integration.servers import object_store_start
from tests.integration.test_object_storage import jpeg_with_exif
from tests.support.processes import ProcessGroup

pytestmark = pytest.mark.django_db


@pytest.fixture
def s3_media(settings, tmp_path):
    group = ProcessGroup(tmp_path / "logs")
    try:
        store = object_store_start(group)
        settings.STORAGES = store.storages_setting(settings.STORAGES)
        settings.PATIENT_LINK_RATE_LIMIT = (100_000, 60)
        yield store
    finally:
        group.stop_all()


def parsed_bundle(data: dict) -> Bundle:
    """The Bundle and every resource in it, each parsed by its own R4B model."""
    bundle = Bundle.model_validate(data)
    for entry in data.get("entry", []):
        resource = entry["resource"]
        MODELS[resource["resourceType"]].model_validate(resource)
    return bundle


def fhir_get(api, path: str) -> dict:
    reply = api.get(path)
    assert reply.status_code == 200, reply.content
    assert reply["Content-Type"].startswith("application/fhir+json")
    return json.loads(reply.content)


def test_a_patient_answers_is_flagged_exported_erased_and_retention_erases_the_old(
        afternoon, client, api, manager_api, patient, receiver, s3_media):
    surname, email = patient.last_name, patient.email
    # The clinic's manager adds a webhook for raised escalations; its secret is shown once.
    created = manager_api.post("/api/webhooks/", {
        "clinic": patient.clinic_id, "url": receiver.url, "events": ["escalation.raised"],
    }, format="json")
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert "secret" not in manager_api.get(f"/api/webhooks/{created.json()['id']}/").json()

    # The patient answers with a fever and a photo: an urgent flag.
    checkin, token = sent_checkin_with_link(patient)
    photo = jpeg_with_exif()
    answered = client.post(link_url(token), {
        **FORM_ANSWERS, "fever": "yes", "comments": "I feel hot since last night",
        "photo": SimpleUploadedFile("skin.jpg", photo, "image/jpeg"),
    })
    assert answered.status_code == 200
    response = CheckInResponse.objects.get(checkin=checkin)
    escalation = Escalation.objects.get(response=response)
    assert escalation.level == "urgent"
    assert s3_media.keys() == [response.photo.name]

    # The worker's task sends it: a signed escalation.raised with ids, level and codes only.
    report = webhooks_deliver_due()
    assert report.delivered == 1
    [hook] = receiver.received
    assert signature_valid(secret=secret, header=hook.headers[SIGNATURE_HEADER], body=hook.body)
    assert not signature_valid(secret="whsec_wrong", header=hook.headers[SIGNATURE_HEADER],
                               body=hook.body)
    assert hook.json["event"] == "escalation.raised"
    assert hook.json["data"]["escalation"] == escalation.pk
    assert hook.json["data"]["level"] == "urgent"
    assert "FEVER" in hook.json["data"]["codes"]
    assert hook.json["data"]["fhir"]["flag"] == f"Flag/{escalation.pk}"
    for private in (surname, patient.first_name, email, "hot since last night"):
        assert private not in hook.body.decode()

    # FHIR: the patient's answers and flag, each resource valid R4B.
    answers = fhir_get(api, f"/fhir/R4/QuestionnaireResponse?patient={patient.pk}")
    flags = fhir_get(api, f"/fhir/R4/Flag?patient={patient.pk}")
    assert parsed_bundle(answers).type == "searchset"
    assert [e["resource"]["id"] for e in answers["entry"]] == [str(response.pk)]
    assert [e["resource"]["id"] for e in flags["entry"]] == [str(escalation.pk)]
    fever = next(item for item in answers["entry"][0]["resource"]["item"]
                 if item["linkId"] == "fever")
    assert fever["answer"] == [{"valueBoolean": True}]
    assert flags["entry"][0]["resource"]["code"]["coding"][0]["code"] == "FEVER"
    parsed_bundle(flags)
    for path in ("metadata", f"Patient/{patient.pk}", "Questionnaire/aftercare-checkin",
                 f"Procedure?patient={patient.pk}", f"AllergyIntolerance?patient={patient.pk}"):
        resource = fhir_get(api, f"/fhir/R4/{path}")
        MODELS[resource["resourceType"]].model_validate(resource)
        if resource["resourceType"] == "Bundle":
            parsed_bundle(resource)
    named = FhirPatient.model_validate(fhir_get(api, f"/fhir/R4/Patient/{patient.pk}"))
    assert named.name[0].family == surname

    # The export: one collection Bundle with the record and the photo as Media.
    exported = api.get(f"/api/patients/{patient.pk}/export/")
    assert exported.status_code == 200
    record = json.loads(exported.content)
    assert parsed_bundle(record).type == "collection"
    kinds = [entry["resource"]["resourceType"] for entry in record["entry"]]
    for kind in ("Patient", "Procedure", "Questionnaire", "QuestionnaireResponse", "Flag",
                 "Media"):
        assert kind in kinds
    [media] = [e["resource"] for e in record["entry"] if e["resource"]["resourceType"] == "Media"]
    assert base64.b64decode(media["content"]["data"]) == s3_media.read(response.photo.name)

    # Erasure, by the clinic's manager, with a reason.
    erased = manager_api.post(f"/api/patients/{patient.pk}/erase/",
                              {"reason": "The patient asked us to delete their data."},
                              format="json")
    assert erased.status_code == 200, erased.content
    assert erased.json()["photos_deleted"] == 1
    assert s3_media.keys() == []
    patient.refresh_from_db()
    assert surname not in (patient.first_name, patient.last_name)
    assert patient.email != email and patient.phone == "" and patient.date_of_birth is None
    assert not CheckInLink.objects.filter(checkin__session__patient=patient,
                                          revoked_at__isnull=True).exists()
    response.refresh_from_db()
    assert response.comments == "" and not response.photo
    assert response.fever is True  # the answers stay, de-identified
    unnamed = fhir_get(api, f"/fhir/R4/Patient/{patient.pk}")
    FhirPatient.model_validate(unnamed)
    assert "name" not in unnamed and "telecom" not in unnamed
    after = json.dumps([fhir_get(api, f"/fhir/R4/{kind}?patient={patient.pk}")
                        for kind in ("Patient", "QuestionnaireResponse", "Flag", "Procedure")])
    after += api.get(f"/api/patients/{patient.pk}/export/").content.decode()
    after += json.dumps(list(WebhookDelivery.objects.values_list("payload", flat=True)))
    for private in (surname, email, "hot since last night"):
        assert private not in after
    assert Escalation.objects.filter(patient=patient, level="urgent").exists()

    # Retention: a patient last seen eleven years ago is erased by the daily task.
    old = PatientFactory(clinic=patient.clinic, last_name="Oldfield")
    SessionFactory(patient=old, performed_at=timezone.now() - timedelta(days=11 * 365))
    recent = PatientFactory(clinic=patient.clinic, last_name="Newman")
    SessionFactory(patient=recent, performed_at=timezone.now() - timedelta(days=30))

    assert retention() == {"erased": 1, "failed": 0}
    assert PatientErasure.objects.get(patient=old).trigger == "retention"
    assert not Patient.objects.filter(last_name="Oldfield").exists()
    assert Patient.objects.filter(last_name="Newman").exists()
