"""Signing staff in as the product requires: with a confirmed authenticator (django-otp).

The suite runs with DJANGO_DEBUG false, so OTP_REQUIRED is on, as in
production. Tests that are about something else sign in through these
helpers; the tests of the sign-in itself post real codes.
"""

from __future__ import annotations

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


def authenticator_for(user) -> TOTPDevice:
    """The user's confirmed authenticator app, enrolled now if they have none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Test phone", confirmed=True)
    return device


def code_for(device: TOTPDevice, *, at: float | None = None) -> str:
    """The code the phone would show now (or at ``at``, a Unix time)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if at is not None:
        totp.time = at
    return f"{totp.token():0{device.digits}d}"


def mark_verified(client, user) -> None:
    """After ``force_login``: the session gave its second factor, as django_otp.login records."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = authenticator_for(user).persistent_id
    session.save()


class VerifiedClient(Client):
    """Django's test client whose ``force_login`` also passes the second factor."""

    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        mark_verified(self, user)
