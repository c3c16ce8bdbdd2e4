"""The optional photo: only real JPEG, PNG or WebP pictures, stored re-encoded."""

from __future__ import annotations

import errno
import io
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from followups.link import photos
from followups.models import CheckIn, CheckInResponse
from tests.followups.link.test_patient_form import FORM_ANSWERS, link_url, sent_checkin_with_link

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825
ORIENTATION = 0x0112


@pytest.fixture(autouse=True)
def generous_rate_limit(settings):
    settings.PATIENT_LINK_RATE_LIMIT = (100_000, 60)


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    """A storage folder of this test's own, to prove what was (not) written."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private-media"), "base_url": None},
        },
    }
    return tmp_path / "private-media"


@pytest.fixture
def sent(patient):
    return sent_checkin_with_link(patient)


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def jpeg_with_gps(width=64, height=48) -> bytes:
    image = Image.new("RGB", (width, height), (200, 60, 60))
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # the camera was turned: rotate 90° to show upright
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (51.0, 30.0, 26.0)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 39.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_declaring(width: int, height: int) -> bytes:
    """A valid-looking 1-bit PNG, a few hundred bytes on disk, of ``width`` x ``height``."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(min(height, 64)))
    data += compressor.flush()
    return (b"\x89PNG\r\n\x1a\n"
            + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b""))


def encoded(fmt: str, mode="RGB", size=(32, 24), **options) -> bytes:
    out = io.BytesIO()
    color = (10, 120, 80, 128) if mode == "RGBA" else (10, 120, 80)
    Image.new(mode, size, color[: len(mode)] if mode != "L" else 100).save(out, format=fmt,
                                                                         **options)
    return out.getvalue()


def post_photo(client, token, content: bytes, name="photo.jpg", content_type="image/jpeg"):
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    return client.post(link_url(token), {**FORM_ANSWERS, "photo": upload})


def assert_refused_and_link_still_usable(client, response, checkin, token, storage_root,
                                         message: str):
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_photo_error"' in html
    assert message in html
    assert not CheckInResponse.objects.exists()
    assert stored_files(storage_root) == []
    checkin.refresh_from_db()
    assert checkin.status == CheckIn.Status.SENT
    assert client.get(link_url(token)).status_code == 200


def test_it_stores_a_jpeg_reencoded_upright_without_exif_or_gps(client, sent, private_storage):
    checkin, token = sent
    original = jpeg_with_gps()
    assert b"PhoneMaker" in original

    response = post_photo(client, token, original)

    assert response.status_code == 200
    assert b"healing as expected" in response.content
    stored = CheckInResponse.objects.get(checkin=checkin)
    assert stored.photo.name.startswith("checkin-photos/")
    assert stored.photo.name.endswith(".jpg")
    with default_storage.open(stored.photo.name) as handle:
        data = handle.read()
    assert data != original
    assert b"Exif" not in data and b"PhoneMaker" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert len(image.getexif()) == 0
        assert "exif" not in image.info
        assert image.size == (48, 64)  # the orientation was applied, then dropped
    assert [path.name for path in stored_files(private_storage)] == [
        stored.photo.name.rsplit("/", 1)[1]
    ]
    # The patient is never shown the photo back.
    assert b"<img" not in response.content


@pytest.mark.parametrize("fmt, mode, name", [
    ("PNG", "RGBA", "skin.png"),
    ("PNG", "P", "skin.png"),
    ("PNG", "L", "skin.png"),
    ("WEBP", "RGB", "skin.webp"),
    ("JPEG", "L", "skin.jpeg"),
])
def test_it_accepts_png_and_webp_and_stores_them_as_jpeg(client, sent, fmt, mode, name):
    checkin, token = sent

    response = post_photo(client, token, encoded(fmt, mode), name=name,
                          content_type=f"image/{fmt.lower()}")

    assert response.status_code == 200
    stored = CheckInResponse.objects.get(checkin=checkin)
    with default_storage.open(stored.photo.name) as handle, Image.open(handle) as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (32, 24))


def test_it_refuses_a_png_header_followed_by_html(client, sent, private_storage):
    checkin, token = sent
    fake = b"\x89PNG\r\n\x1a\n" + b"<html><body><script>alert(document.cookie)</script></html>"

    response = post_photo(client, token, fake, name="photo.png", content_type="image/png")

    assert_refused_and_link_still_usable(client, response, checkin, token, private_storage,
                                         "must be a JPEG, PNG or WebP picture")


@pytest.mark.parametrize("width, height", [(20_000, 20_000), (8_000, 6_000)])
def test_it_refuses_a_decompression_bomb(client, sent, private_storage, width, height):
    checkin, token = sent
    bomb = png_declaring(width, height)
    assert len(bomb) < 10_000

    response = post_photo(client, token, bomb, name="photo.png", content_type="image/png")

    assert_refused_and_link_still_usable(client, response, checkin, token, private_storage,
                                         "The photo is too big")


def test_it_refuses_a_tiff_renamed_jpg(client, sent, private_storage):
    checkin, token = sent

    response = post_photo(client, token, encoded("TIFF"))

    assert_refused_and_link_still_usable(client, response, checkin, token, private_storage,
                                         "must be a JPEG, PNG or WebP picture")


def test_it_refuses_an_eps_renamed_jpg(client, sent, private_storage):
    checkin, token = sent
    eps = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n"
           b"%%EndComments\n0 0 moveto 100 100 lineto stroke\nshowpage\n%%EOF\n")

    response = post_photo(client, token, eps)

    assert_refused_and_link_still_usable(client, response, checkin, token, private_storage,
                                         "must be a JPEG, PNG or WebP picture")


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "ICO"])
def test_it_refuses_other_image_formats_whatever_their_name(client, sent, private_storage, fmt):
    checkin, token = sent

    response = post_photo(client, token, encoded(fmt))

    assert_refused_and_link_still_usable(client, response, checkin, token, private_storage,
                                         "must be a JPEG, PNG or WebP picture")


def test_it_refuses_a_truncated_jpeg(client, sent, private_storage):
    checkin, token = sent
    whole = encoded("JPEG", size=(400, 300))

    response = post_photo(client, token, whole[: len(whole) // 2])

    assert_refused_and_link_still_usable(client, response, checkin, token, private_storage,
                                         "must be a JPEG, PNG or WebP picture")


def test_it_refuses_a_photo_over_10_mb(client, sent, private_storage, settings):
    checkin, token = sent
    assert settings.PHOTO_MAX_BYTES == 10 * 1024 * 1024
    big = jpeg_with_gps() + b"\x00" * (settings.PHOTO_MAX_BYTES + 1)

    response = post_photo(client, token, big)

    assert_refused_and_link_still_usable(client, response, checkin, token, private_storage,
                                         "Choose a photo smaller than 10 MB")


def test_it_refuses_an_empty_file(client, sent, private_storage):
    checkin, token = sent

    response = post_photo(client, token, b"")

    assert_refused_and_link_still_usable(client, response, checkin, token, private_storage,
                                         "The photo file is empty")


def test_it_asks_again_for_a_good_photo_when_another_answer_was_wrong(client, sent,
                                                                       private_storage):
    checkin, token = sent
    upload = SimpleUploadedFile("photo.jpg", jpeg_with_gps(), content_type="image/jpeg")

    response = client.post(link_url(token), {**FORM_ANSWERS, "fever": "", "photo": upload})

    assert b"Please choose it again" in response.content
    assert stored_files(private_storage) == []


def test_it_reencodes_without_running_any_other_decoder():
    # Pillow is never allowed to pick a plugin from the file's content.
    assert photos.ALLOWED_FORMATS == ("JPEG", "PNG", "WEBP")
    with pytest.raises(photos.PhotoRejected) as refused:
        photos.photo_reencode(SimpleUploadedFile("x.jpg", encoded("TIFF")))
    assert refused.value.reason == "not_an_image"


def test_it_leaves_no_photo_behind_when_storing_the_answers_fails(sent, private_storage,
                                                                   monkeypatch):
    from followups import services
    from followups.services import response_record

    checkin, _token = sent

    def broken(**kwargs):
        raise RuntimeError("database went away mid-way")

    monkeypatch.setattr(services, "escalation_raise_for_assessment", broken)
    photo = photos.photo_reencode(SimpleUploadedFile("photo.jpg", jpeg_with_gps()))

    with pytest.raises(RuntimeError):
        response_record(checkin=checkin, answers={**FORM_ANSWERS, "fever": False,
                                                  "pus": False, "hives": False},
                        channel=CheckInResponse.Channel.PATIENT_LINK, photo=photo)

    assert not CheckInResponse.objects.exists()
    assert stored_files(private_storage) == []


class FullDiskStorage(FileSystemStorage):
    """A disk that fills up half-way through writing a photo."""

    def _save(self, name, content):
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.read()[:100])
        raise OSError(errno.ENOSPC, "No space left on device")


def test_it_leaves_no_half_written_photo_behind_on_a_full_disk(sent, private_storage, settings):
    from followups.services import response_record

    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "tests.followups.link.test_photos.FullDiskStorage",
        "OPTIONS": {"location": str(private_storage), "base_url": None}}}
    checkin, _token = sent
    photo = photos.photo_reencode(SimpleUploadedFile("photo.jpg", jpeg_with_gps()))

    with pytest.raises(OSError):
        response_record(checkin=checkin, answers={**FORM_ANSWERS, "fever": False,
                                                  "pus": False, "hives": False},
                        channel=CheckInResponse.Channel.PATIENT_LINK, photo=photo)

    assert not CheckInResponse.objects.exists()
    assert stored_files(private_storage) == []
