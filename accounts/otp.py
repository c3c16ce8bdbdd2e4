"""The second factor of staff accounts: TOTP devices and recovery codes (django-otp).

Required whenever ``DJANGO_DEBUG`` is false (``settings.OTP_REQUIRED``): a
staff user without a confirmed authenticator is taken to enroll before any
page with patient data, and the API's token endpoint refuses them.
"""

from __future__ import annotations

import base64
import secrets

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django_otp import devices_for_user, match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODE_COUNT = 10
RECOVERY_DEVICE_NAME = "Recovery codes"
AUTHENTICATOR_NAME = "Authenticator app"


def otp_required() -> bool:
    return bool(getattr(settings, "OTP_REQUIRED", True))


def otp_enrolled(user) -> bool:
    return user_has_device(user, confirmed=True)


def otp_match(*, user, token: str):
    """The user's confirmed device that accepts ``token`` (TOTP or a recovery code), or None.

    A TOTP code is good once: django-otp remembers the last time step used
    (``last_t``), so a code seen on the wire cannot be replayed.
    """
    token = "".join((token or "").split())
    if not token or len(token) > 16 or not token.isalnum():
        return None
    return match_token(user, token)


@transaction.atomic
def totp_device_pending(*, user) -> TOTPDevice:
    """The user's authenticator waiting to be confirmed by a first code (made if none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


@transaction.atomic
def totp_enroll(*, user, confirmed: bool = True) -> TOTPDevice:
    """A new authenticator for ``user`` (what ``create_staff --otp`` prints)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=confirmed)


def totp_confirm(*, device: TOTPDevice, token: str) -> bool:
    token = "".join((token or "").split())
    if not (token.isdigit() and len(token) == device.digits):
        return False
    if not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return True


def totp_text_key(device: TOTPDevice) -> str:
    """The base32 secret, in groups of four, for typing into an app by hand."""
    key = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(key[i:i + 4] for i in range(0, len(key), 4))


def totp_config_url(device: TOTPDevice) -> str:
    return device.config_url


def totp_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URI as an inline SVG QR code, drawn here: nothing leaves the server."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage,
                        box_size=8)
    svg = image.to_string(encoding="unicode")
    # The XML declaration is not allowed inside HTML.
    return svg.split("?>", 1)[1] if svg.startswith("<?xml") else svg


@transaction.atomic
def recovery_codes_issue(*, user) -> list[str]:
    """Ten single-use codes for a lost phone; any earlier ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def otp_reset(*, user) -> int:
    """Forget every second factor of ``user``: they enroll again at their next sign-in."""
    removed = 0
    for device in devices_for_user(user, confirmed=None):
        device.delete()
        removed += 1
    return removed
