"""Patient photos in an S3-compatible object store (MEDIA_STORAGE=s3), on moto's real server.

A photo sent through the patient's form is verified and re-encoded, then
lands in the bucket as a private object, and nothing of it on this machine's
disk; staff see it through the product's own view, which streams it.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from followups.models import AuditEvent, CheckInResponse
from tests.followups.link.test_patient_form import FORM_ANSWERS, link_url, sent_checkin_with_link
from tests.integration.servers import object_store_start
from tests.support import PROJECT_DIR
from tests.support.processes import ProcessGroup

pytestmark = pytest.mark.django_db


@pytest.fixture
def object_store(tmp_path):
    group = ProcessGroup(tmp_path / "logs")
    try:
        yield object_store_start(group)
    finally:
        group.stop_all()


@pytest.fixture
def s3_media(settings, object_store, tmp_path):
    settings.STORAGES = object_store.storages_setting(settings.STORAGES)
    settings.PATIENT_LINK_RATE_LIMIT = (100_000, 60)
    return object_store


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (40, 30), (190, 70, 60))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def files_under(folder) -> list[str]:
    return [os.path.join(root, name) for root, _dirs, names in os.walk(folder) for name in names]


def test_it_stores_a_patients_photo_in_the_bucket_and_not_on_disk(
        client, patient, s3_media, settings, tmp_path, monkeypatch):
    # Any temporary file Django or boto3 would make lands here, where we can see it.
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    checkin, token = sent_checkin_with_link(patient)
    original = jpeg_with_exif() + b"\x00" * (3 * 1024 * 1024)  # past Django's 2.5 MB spool
    on_disk_before = files_under(settings.VAR_DIR / "private-media")  # other tests' photos

    reply = client.post(link_url(token), {
        **FORM_ANSWERS, "photo": SimpleUploadedFile("skin.jpg", original, "image/jpeg"),
    })

    assert reply.status_code == 200
    stored = CheckInResponse.objects.get(checkin=checkin)
    assert s3_media.keys() == [stored.photo.name]
    assert stored.photo.name.startswith("checkin-photos/") and stored.photo.name.endswith(".jpg")
    data = s3_media.read(stored.photo.name)
    assert data.startswith(b"\xff\xd8\xff") and b"PhoneMaker" not in data  # re-encoded
    assert files_under(spool) == []
    assert files_under(settings.VAR_DIR / "private-media") == on_disk_before
    # A private object: only its owner has any grant, nobody is given public read.
    grants = s3_media.client().get_object_acl(Bucket=s3_media.bucket,
                                              Key=stored.photo.name)["Grants"]
    assert all(grant["Grantee"].get("Type") == "CanonicalUser" for grant in grants)
    assert all("URI" not in grant["Grantee"] for grant in grants)


def test_it_refuses_a_photo_over_the_limit_without_keeping_it(client, patient, s3_media,
                                                             settings):
    settings.PHOTO_MAX_BYTES = 1024 * 1024
    checkin, token = sent_checkin_with_link(patient)
    too_big = jpeg_with_exif() + b"\x00" * (2 * 1024 * 1024)

    reply = client.post(link_url(token), {
        **FORM_ANSWERS, "photo": SimpleUploadedFile("skin.jpg", too_big, "image/jpeg"),
    })

    assert reply.status_code == 200
    assert "The photo is too big" in reply.content.decode()
    assert not CheckInResponse.objects.filter(checkin=checkin).exists()
    assert s3_media.keys() == []


def test_staff_see_the_photo_through_the_products_own_view(client, patient, staff, s3_media):
    from tests.admin.builders import ensure_clinic_staff_group

    staff.groups.add(ensure_clinic_staff_group())
    checkin, token = sent_checkin_with_link(patient)
    client.post(link_url(token), {
        **FORM_ANSWERS, "photo": SimpleUploadedFile("skin.jpg", jpeg_with_exif(), "image/jpeg"),
    })
    stored = CheckInResponse.objects.get(checkin=checkin)
    client.force_login(staff)

    reply = client.get(reverse("admin:followups_checkinresponse_photo", args=[stored.pk]))

    assert reply.status_code == 200
    assert reply["Content-Type"] == "image/jpeg"
    assert reply["Cache-Control"] == "private, no-store"
    assert b"".join(reply.streaming_content) == s3_media.read(stored.photo.name)
    assert AuditEvent.objects.filter(action="view_photo", actor=staff).count() == 1


def test_a_photo_missing_from_the_bucket_is_a_404(client, patient, staff, s3_media):
    from tests.admin.builders import ensure_clinic_staff_group

    staff.groups.add(ensure_clinic_staff_group())
    checkin, token = sent_checkin_with_link(patient)
    client.post(link_url(token), {
        **FORM_ANSWERS, "photo": SimpleUploadedFile("skin.jpg", jpeg_with_exif(), "image/jpeg"),
    })
    stored = CheckInResponse.objects.get(checkin=checkin)
    s3_media.client().delete_object(Bucket=s3_media.bucket, Key=stored.photo.name)
    client.force_login(staff)

    reply = client.get(reverse("admin:followups_checkinresponse_photo", args=[stored.pk]))

    assert reply.status_code == 404


def test_the_settings_build_the_s3_storage_from_the_environment(object_store, tmp_path):
    """MEDIA_STORAGE=s3 and the S3_*/AWS_* variables, read by clinic.settings in a child."""
    code = (
        "import django; django.setup()\n"
        "from django.core.files.base import ContentFile\n"
        "from django.core.files.storage import default_storage\n"
        "print(default_storage.save('checkin-photos/probe.jpg', ContentFile(b'probe')))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "clinic.settings",
           "DJANGO_DEBUG": "true", "AFTERCARE_VAR_DIR": str(tmp_path / "var"),
           **object_store.env()}
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert object_store.keys() == ["checkin-photos/probe.jpg"]
    assert object_store.read("checkin-photos/probe.jpg") == b"probe"
    assert not (tmp_path / "var" / "private-media" / "checkin-photos").exists()
