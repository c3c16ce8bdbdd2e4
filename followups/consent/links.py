"""Unsubscribe links (``SITE_URL/u/<token>/``): 256 random bits for the patient, a hash for us."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from followups.link.tokens import token_hash, token_new
from followups.models import ConsentLink
from patients.models import Patient


def consent_link_new(patient: Patient, *, channel: str = "email") -> str:
    """A new unsubscribe link for one message to ``patient``: its full URL."""
    raw, hashed = token_new()
    ConsentLink.objects.create(patient=patient, channel=channel, token_hash=hashed)
    return settings.SITE_URL + reverse("consent:unsubscribe", kwargs={"token": raw})


def consent_link_patient(token: str) -> tuple[Patient, str] | None:
    """The patient (and channel) an unsubscribe link names, or None."""
    link = (ConsentLink.objects.select_related("patient__clinic")
            .filter(token_hash=token_hash(token)).first())
    return (link.patient, link.channel) if link is not None else None
