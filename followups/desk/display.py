"""How the admin shows follow-up data: level and status badges, links to a patient, reasons.

Shared by the follow-ups admin and the patients admin (a patient's page shows
their escalations). Markup only: every value is escaped by ``format_html``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme

from followups.assessment.rules import BREAKOUT_DOCUMENT, RASH_DOCUMENT, Level
from followups.escalations.messages import reason_message

if TYPE_CHECKING:
    from followups.models import CheckInResponse
    from patients.models import Patient

# Text and shape carry the meaning; colour only repeats it. Shapes from the
# most to the least pressing; a level with none of its own shows its name only.
_LEVEL_SHAPES = {Level.URGENT: "▲", Level.REVIEW: "◆", Level.WATCH: "◇", Level.NONE: "○"}
LEVEL_BADGES = {level.label: (_LEVEL_SHAPES.get(level, ""), level.label.upper())
                for level in Level}


# One way of writing a time on every staff page, in the clinic's time zone
# (the admin site activates it): "1 Dec 2026, 08:02".
DESK_DATETIME = "j M Y, H:i"
DESK_DATE = "j M Y"


def desk_time(value) -> str:
    return date_format(timezone.localtime(value), DESK_DATETIME) if value else "–"


def desk_date(value) -> str:
    return date_format(timezone.localtime(value), DESK_DATE) if value else "–"


def level_badge(level: str):
    icon, text = LEVEL_BADGES.get(level, ("", level.upper()))
    return format_html('<span class="lvl lvl-{}"><span aria-hidden="true">{}</span> {}</span>',
                       level, icon, text)


def status_badge(status: str, label: str):
    return format_html('<span class="st st-{}">{}</span>', status, label)


@functools.cache
def _patient_change_prefix() -> str:
    return reverse("admin:patients_patient_change", args=[0]).removesuffix("0/change/")


def patient_link(patient: Patient):
    url = f"{_patient_change_prefix()}{patient.pk}/change/"
    return format_html('<a href="{}" class="patient-link">{}</a>', url, patient)


def person(user) -> str:
    if user is None:
        return "–"
    return user.get_full_name() or user.get_username()


# Staff read a document by its title, not by its file name (clinical-reference.md).
DOCUMENT_TITLES = {
    RASH_DOCUMENT: "Rash after microneedling",
    BREAKOUT_DOCUMENT: "Breakouts after microneedling",
}


def source_titled(source: str) -> str:
    for document, title in DOCUMENT_TITLES.items():
        source = source.replace(document, title)
    return source


def reasons_list(reasons: list[dict], *, with_sources: bool = False):
    """The plain message first, its rule's code small after it (and the source)."""
    if not reasons:
        return "–"
    if with_sources:
        items = format_html_join(
            "", '<li>{} <small class="code"><code>{}</code></small><br>'
                '<small class="source">Source: {}</small></li>',
            ((reason_message(r), r.get("code", ""), source_titled(r.get("source", "")))
             for r in reasons),
        )
    else:
        items = format_html_join(
            "", '<li>{} <small class="code"><code>{}</code></small></li>',
            ((reason_message(r), r.get("code", "")) for r in reasons),
        )
    return format_html('<ul class="reasons">{}</ul>', items)


def code_in_words(code: str) -> str:
    """A rule's code as words ("Rash worsening"), for lists that have no parameters to write."""
    return code.replace("_", " ").capitalize()


def codes_in_words(codes: list[str]):
    """Reason codes in words, each with its code small after it."""
    return format_html_join(", ", '{} <small class="code"><code>{}</code></small>',
                            ((code_in_words(code), code) for code in codes))


def safe_next_url(request, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def photo_url(response: CheckInResponse) -> str:
    return reverse("admin:followups_checkinresponse_photo", args=[response.pk])
