"""Enrolling an authenticator: a QR code drawn on the server, its text key, a first code."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login

from accounts.forms import EnrollForm
from accounts.otp import (
    otp_enrolled,
    recovery_codes_issue,
    totp_device_pending,
    totp_qr_svg,
    totp_text_key,
)


def enroll_view(site):
    @never_cache
    @csrf_protect
    def enroll(request):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if otp_enrolled(user):
            return HttpResponseRedirect(reverse("admin:index"))
        device = totp_device_pending(user=user)
        form = EnrollForm(request.POST or None, device=device)
        context = {**site.each_context(request), "title": "Set up your authenticator"}
        if request.method == "POST" and form.is_valid():
            otp_login(request, device)
            codes = recovery_codes_issue(user=user)
            return TemplateResponse(request, "otp/recovery_codes.html",
                                    {**context, "title": "Your recovery codes", "codes": codes})
        return TemplateResponse(request, "otp/enroll.html", {
            **context,
            "form": form,
            # Drawn by qrcode from our own data: no user input reaches the markup.
            "qr_svg": mark_safe(totp_qr_svg(device)),  # noqa: S308
            "text_key": totp_text_key(device),
        })

    return enroll
