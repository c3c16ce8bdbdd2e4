"""API tokens die with the password that earned them, and with the account; a session's clock.

A receiver rather than a service call because a password changes in many
places we do not own (Django's password forms, ``changepassword``, the user
admin) and all of them end in ``User.save()``.
"""

from __future__ import annotations

import time

from django.contrib.auth import SESSION_KEY, get_user_model, user_logged_in
from django.db.models.signals import post_delete, pre_save
from django.dispatch import receiver
from knox.models import AuthToken

from accounts.middleware import LAST_SEEN_AT, SIGNED_IN_AT
from patients.models import ClinicMembership


@receiver(pre_save, sender=get_user_model(), dispatch_uid="accounts-revoke-tokens-on-change")
def revoke_tokens_on_password_or_deactivation(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    before = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is None:
        return
    if before["password"] != instance.password or (before["is_active"] and not instance.is_active):
        AuthToken.objects.filter(user_id=instance.pk).delete()


@receiver(post_delete, sender=ClinicMembership, dispatch_uid="accounts-revoke-tokens-no-clinic")
def revoke_tokens_without_clinic(sender, instance, **kwargs):
    user = get_user_model().objects.filter(pk=instance.user_id).first()
    if user is None or user.is_superuser:
        return
    if not ClinicMembership.objects.filter(user_id=user.pk).exists():
        AuthToken.objects.filter(user_id=user.pk).delete()


@receiver(user_logged_in, dispatch_uid="accounts-session-clock")
def start_session_clock(sender, request, user, **kwargs):
    """The lifetime and the idle timeout count from the sign-in itself."""
    session = getattr(request, "session", None)
    # Only a browser's sign-in: the API's token endpoint sends this signal
    # too, and must not start a session for a token client.
    if session is not None and SESSION_KEY in session:
        now = int(time.time())
        session[SIGNED_IN_AT] = now
        session[LAST_SEEN_AT] = now
