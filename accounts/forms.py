"""The staff sign-in and enrollment forms: a password and the authenticator's code, in one form."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError

from accounts.otp import otp_enrolled, otp_match, totp_confirm

CODE_WIDGET = forms.TextInput(attrs={
    "autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": "16",
    "autocapitalize": "off", "spellcheck": "false",
})


class StaffLoginForm(AdminAuthenticationForm):
    """``username``, ``password`` and, once enrolled, ``otp_token`` (interface: Staff sign-in).

    There is no device to choose: the code is tried against the user's
    authenticator and, for a lost phone, their recovery codes. A wrong or
    missing code is a failed sign-in like a wrong password (the lockout counts
    it), and the message does not say which of the two was wrong.
    """

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": (
            "Please enter the correct %(username)s, password and authenticator code for a "
            "staff account. Note that the fields may be case-sensitive."
        ),
    }

    otp_token = forms.CharField(
        label="Authenticator code", required=False, max_length=16, strip=True,
        widget=CODE_WIDGET,
        help_text="The 6-digit code from your authenticator app, or one of your recovery "
                  "codes. Leave it empty if you have not set up an authenticator yet.",
    )

    def clean(self):
        cleaned = super().clean()
        user = self.user_cache
        if user is None or not otp_enrolled(user):
            # Not enrolled yet: signed in with the password alone, then taken
            # to enroll before any other page (accounts.middleware).
            return cleaned
        device = otp_match(user=user, token=cleaned.get("otp_token", ""))
        if device is None:
            user_login_failed.send(
                sender=__name__,
                credentials={"username": cleaned.get("username")},
                request=self.request,
            )
            self.user_cache = None
            raise self.get_invalid_login_error()
        # django-otp's user_logged_in receiver marks the session verified. The
        # attribute is django-otp's own, which the user model's stubs cannot know.
        user.otp_device = device  # type: ignore[attr-defined]
        return cleaned


class EnrollForm(forms.Form):
    otp_token = forms.CharField(label="Code from the app", max_length=8, strip=True,
                                widget=CODE_WIDGET)

    def __init__(self, *args, device, **kwargs):
        self.device = device
        super().__init__(*args, **kwargs)

    def clean_otp_token(self):
        token = self.cleaned_data["otp_token"]
        if not totp_confirm(device=self.device, token=token):
            raise ValidationError(
                "That code did not match. Check the phone's clock and type the code shown now."
            )
        return token
