"""The texts the product sends: check-in invitations and reminders, the on-call alert.

None carries health information: no procedure, product, symptom or
surname. A check-in text names the clinic, greets the patient by first name,
holds the link (the same check-in as the email's) and ends with its opt-out
line, in the patient's language; it is worded to fit one 160-character
segment of the GSM 7-bit alphabet (``gsm``), which English, French and
Spanish allow: the Spanish wording avoids á, í, ó, ú, which the alphabet
lacks. A first name outside the alphabet (Zoë, Łucja) makes that one text
UCS-2, two or three segments. The on-call text to a clinic holds only a
link to the flag in the admin.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from followups.delivery.channels.base import Undeliverable
from patients.phones import phone_is_textable

# Room kept for a clinic's name and a patient's first name, cut with "…"
# beyond it ("…" itself is outside GSM-7: a plain full stop instead).
CLINIC_NAME_ROOM = 20
FIRST_NAME_ROOM = 15


@dataclass(frozen=True)
class TextMessage:
    """A text to send: the number (E.164) and the words; ``ref`` names it in logs."""

    to: str
    body: str
    ref: str


def _cut(text: str, room: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= room else text[:room - 1].rstrip() + "."


def checkin_link(token: str) -> str:
    return settings.SITE_URL + reverse("followups:checkin", kwargs={"token": token})


def number_check(phone) -> str:
    """The number as E.164, or ``Undeliverable`` for one no text can reach."""
    if not phone:
        raise Undeliverable("no mobile number")
    if not phone_is_textable(phone):
        raise Undeliverable("not a mobile number")
    return str(phone.as_e164)


def checkin_text(checkin, *, token: str, reminder: bool) -> TextMessage:
    patient = checkin.session.patient
    words = {"clinic": _cut(patient.clinic.name, CLINIC_NAME_ROOM),
             "name": _cut(patient.first_name, FIRST_NAME_ROOM), "link": checkin_link(token)}
    with translation.override(patient.language):
        if reminder:
            body = gettext("{clinic}: {name}, a reminder: your 1-minute check-in {link}")
        else:
            body = gettext("{clinic}: {name}, your 1-minute check-in {link}")
        body = body.format(**words) + "\n" + gettext("Reply STOP to opt out")
    kind = "reminder" if reminder else "invitation"
    return TextMessage(to=number_check(patient.phone), body=body,
                       ref=f"checkin-{checkin.pk}-{checkin.send_generation}-{kind}")


def on_call_text(escalation, *, to: str) -> TextMessage:
    """To the clinic's on-call phone: an urgent flag waits; a link, nothing about the patient."""
    admin_url = settings.SITE_URL + reverse("admin:followups_escalation_change",
                                            args=[escalation.pk])
    minutes = settings.URGENT_ESCALATE_MINUTES
    body = (f"{_cut(escalation.patient.clinic.name, CLINIC_NAME_ROOM)}: an urgent flag has "
            f"waited {minutes} min unacknowledged. Please call the patient: {admin_url}")
    return TextMessage(to=to, body=body, ref=f"escalation-{escalation.pk}-on-call")
