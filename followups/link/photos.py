"""The patient's optional photo: proven to be a picture, then stored as a fresh JPEG.

A file is accepted only if Pillow decodes it as JPEG, PNG or WebP, whatever
its name or content type says. It is then re-encoded, so nothing the patient's
phone wrote into the file survives: no EXIF, no GPS position, no trailing data,
no colour profile (the pixels are converted to sRGB first, so colours still
look as the phone saw them: redness is what staff look at).
"""

from __future__ import annotations

import io
import warnings
from typing import cast

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from PIL import Image, ImageCms, ImageOps

# Only these decoders are ever run on a patient's upload. Restricting
# Image.open also keeps Pillow from handing an EPS file to Ghostscript.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")

# A 12-megapixel phone photo is far below this; a decompression bomb (a small
# file that declares a huge picture) is refused before any pixel is decoded.
MAX_PIXELS = 40_000_000

JPEG_QUALITY = 85
# A profile bigger than this is not converted from but ignored (as if sRGB):
# real camera profiles are a few kilobytes.
MAX_ICC_PROFILE_BYTES = 128 * 1024
SRGB = ImageCms.createProfile("sRGB")


class PhotoRejected(ValueError):
    """The upload is not a photo we store; ``reason`` says why, for the form."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def photo_reencode(upload) -> ContentFile:
    """Decode ``upload`` and return it re-encoded as JPEG, or raise PhotoRejected.

    Reasons: ``too_large`` (bytes), ``empty``, ``too_many_pixels``, ``not_an_image``.
    """
    size = getattr(upload, "size", None)
    if size is None or size > settings.PHOTO_MAX_BYTES:
        raise PhotoRejected("too_large")
    if size == 0:
        raise PhotoRejected("empty")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own limit and twice that: refuse.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _reencode(upload)
    except PhotoRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRejected("too_many_pixels") from None
    except Exception:
        # Malformed input makes Pillow raise many kinds of error (OSError,
        # SyntaxError, ValueError, struct.error…): every one means "not a photo".
        raise PhotoRejected("not_an_image") from None


def _open(upload) -> Image.Image:
    upload.seek(0)
    image = Image.open(upload, formats=ALLOWED_FORMATS)
    if image.format not in ALLOWED_FORMATS:
        raise PhotoRejected("not_an_image")
    width, height = image.size
    if width < 1 or height < 1:
        raise PhotoRejected("not_an_image")
    if width * height > MAX_PIXELS:
        raise PhotoRejected("too_many_pixels")
    return image


def _reencode(upload) -> ContentFile:
    # verify() checks the file's structure (PNG checksums, truncation) without
    # decoding; it leaves the image unusable, so the file is opened again.
    with _open(upload) as probe:
        probe.verify()
    with _open(upload) as image:
        image.load()
        icc_profile = image.info.get("icc_profile")
        upright = ImageOps.exif_transpose(image)
        rgb = _to_srgb(_as_rgb(upright), icc_profile)
    # A fresh JPEG: no exif= and no icc_profile= argument, so neither EXIF
    # (nor GPS) nor any of the phone's profile bytes is written. Untagged
    # JPEG is read as sRGB by browsers.
    options = {"quality": JPEG_QUALITY, "optimize": True}
    rgb.info.clear()
    out = io.BytesIO()
    rgb.save(out, format="JPEG", **options)
    return ContentFile(out.getvalue(), name="photo.jpg")


def _to_srgb(rgb: Image.Image, icc_profile) -> Image.Image:
    """The pixels in sRGB, from the embedded profile when there is a usable one."""
    if not isinstance(icc_profile, bytes) or not icc_profile \
            or len(icc_profile) > MAX_ICC_PROFILE_BYTES:
        return rgb
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if source.profile.xcolor_space.strip() != "RGB":
            return rgb  # a greyscale or CMYK profile does not describe these RGB pixels
        converted = ImageCms.profileToProfile(rgb, source, SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return rgb  # a broken profile: the pixels as they are
    return converted if converted is not None else rgb


def _as_rgb(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        # Transparent areas become white, not black.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode == "I" or image.mode.startswith("I;16"):
        # 16-bit greyscale: scale to 8 bits, or every pixel would clip to white.
        # A single band: one (lowest, highest) pair, not one pair per band.
        _low, high = cast("tuple[float, float]", image.getextrema())
        if high > 255:
            image = image.point(lambda value: value / 256)
        image = image.convert("L")
    return image.convert("RGB")


class BoundedMemoryUploadHandler(FileUploadHandler):
    """Keeps each uploaded file in memory, up to one byte past PHOTO_MAX_BYTES.

    Django's default handlers spool a file over 2.5 MB to a temporary file on
    the web server's disk; a patient's photo, before it is verified and
    re-encoded, must not land there (with object storage, nothing of it may
    stay on any one machine). Past the limit the bytes are counted, not kept:
    the upload reports its real size and ``photo_reencode`` refuses it as
    ``too_large`` without decoding anything.
    """

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.kept = io.BytesIO()
        self.limit = settings.PHOTO_MAX_BYTES + 1
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data, start):
        room = self.limit - self.kept.tell()
        if room > 0:
            self.kept.write(raw_data[:room])
        return None

    def file_complete(self, file_size):
        self.kept.seek(0)
        return InMemoryUploadedFile(
            file=self.kept, field_name=self.field_name, name=self.file_name,
            content_type=self.content_type, size=file_size, charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
