"""Unsubscribe links (``SITE_URL/u/<token>/``), carried by every check-in email.

An email's unsubscribe link holds the same token as its check-in link: 256
random bits, of which only the SHA-256 is kept (``CheckInLink``), so an
email is built without a write and no second secret is made. The check-in
link dies when answered or expired; its unsubscribe link never does:
opting out must always work. It only ever opts its patient out of email.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from followups.link.tokens import token_hash
from followups.models import CheckInLink
from patients.models import Patient


def unsubscribe_url(token: str) -> str:
    """The unsubscribe link of the email that holds the check-in link of ``token``."""
    return settings.SITE_URL + reverse("consent:unsubscribe", kwargs={"token": token})


def unsubscribe_patient(token: str) -> Patient | None:
    """The patient an unsubscribe link names (expired or answered links too), or None."""
    link = (CheckInLink.objects.select_related("checkin__session__patient__clinic")
            .filter(token_hash=token_hash(token)).first())
    return link.checkin.session.patient if link is not None else None
