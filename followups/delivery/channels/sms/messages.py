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
from followups.delivery.channels.sms.gsm import gsm7_length, is_gsm7
from patients.phones import phone_is_textable

# A clinic's name and a patient's first name are cut (with a full stop: "…"
# is outside GSM-7) when the text would not fit one segment, down to these.
CLINIC_NAME_SHORTEST = 10
FIRST_NAME_SHORTEST = 6
ONE_SEGMENT = 160


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


def _fitted(template: str, *, clinic: str, name: str, link: str) -> str:
    """The text with the names cut, the clinic's first, until it fits one segment."""
    clinic, name = " ".join(clinic.split()), " ".join(name.split())
    while True:
        body = template.format(clinic=clinic, name=name, link=link)
        if gsm7_length(body) <= ONE_SEGMENT or not is_gsm7(body):
            return body
        if len(clinic) > CLINIC_NAME_SHORTEST:
            clinic = _cut(clinic, len(clinic) - 1)
        elif len(name) > FIRST_NAME_SHORTEST:
            name = _cut(name, len(name) - 1)
        else:
            return body


def checkin_text(checkin, *, token: str, reminder: bool) -> TextMessage:
    patient = checkin.session.patient
    with translation.override(patient.language):
        if reminder:
            template = gettext("{clinic}: {name}, a reminder: your check-in {link}")
        else:
            template = gettext("{clinic}: {name}, your 1-minute check-in {link}")
        template += "\n" + gettext("Reply STOP to opt out")
    body = _fitted(template, clinic=patient.clinic.name, name=patient.first_name,
                   link=checkin_link(token))
    kind = "reminder" if reminder else "invitation"
    return TextMessage(to=number_check(patient.phone), body=body,
                       ref=f"checkin-{checkin.pk}-{checkin.send_generation}-{kind}")


def on_call_text(escalation, *, to: str) -> TextMessage:
    """To the clinic's on-call phone: an urgent flag waits; a link, nothing about the patient."""
    admin_url = settings.SITE_URL + reverse("admin:followups_escalation_change",
                                            args=[escalation.pk])
    minutes = settings.URGENT_ESCALATE_MINUTES
    body = (f"{_cut(escalation.patient.clinic.name, 30)}: an urgent flag has "
            f"waited {minutes} min unacknowledged. Please call the patient: {admin_url}")
    return TextMessage(to=to, body=body, ref=f"escalation-{escalation.pk}-on-call")
