"""The emails the product sends: check-in invitations and reminders, urgent alerts.

None of them carries health information: no procedure, product, symptom or
surname. A check-in email greets the patient by first name and holds the link;
an alert to the clinic holds only a link to the admin page.
"""

from __future__ import annotations

from email.utils import formataddr
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from followups.consent.links import unsubscribe_url
from followups.delivery.channels.base import MessageRef, Undeliverable


def site_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def checkin_link(token: str) -> str:
    # Always from SITE_URL, never from a request's Host header.
    return settings.SITE_URL + reverse("followups:checkin", kwargs={"token": token})


def checkin_message_id(checkin, *, reminder: bool) -> str:
    kind = "reminder" if reminder else "invitation"
    return f"<checkin-{checkin.pk}-{checkin.send_generation}-{kind}@{site_domain()}>"


def checkin_message_ref(message_id: str) -> MessageRef | None:
    """The check-in message one of our Message-IDs names, ``<checkin-ID-GEN-KIND@…>``, or None."""
    local = message_id.strip().strip("<>").split("@", 1)[0]
    parts = local.split("-")
    if (len(parts) == 4 and parts[0] == "checkin" and parts[1].isdigit()
            and parts[2].isdigit() and parts[3] in ("invitation", "reminder")):
        return MessageRef(checkin_id=int(parts[1]), send_generation=int(parts[2]),
                          reminder=parts[3] == "reminder")
    return None


def address_check(address: str) -> None:
    """Refuse an address no server could deliver to, before anything is sent."""
    try:
        validate_email(address)
    except ValidationError:
        raise Undeliverable(f"invalid email address {address!r}"[:120]) from None


def _from_clinic(clinic) -> str:
    return formataddr((clinic.name, settings.DEFAULT_FROM_EMAIL))


def checkin_email(checkin, *, token: str, reminder: bool) -> EmailMultiAlternatives:
    patient = checkin.session.patient
    clinic = patient.clinic
    # An invitation's link lives from when it goes: at its due time, or later for
    # a check-in sent late (clinical-reference.md, "Nothing lapses").
    expires_at = (checkin.sent_at or max(checkin.due_at, timezone.now())) + \
        settings.CHECKIN_LINK_TTL
    # RFC 8058: a one-click unsubscribe in the headers, and the same link in the body.
    unsubscribe = unsubscribe_url(token)
    context = {
        "first_name": patient.first_name,
        "clinic": clinic,
        "link": checkin_link(token),
        "unsubscribe": unsubscribe,
        "reminder": reminder,
        "expires_local": expires_at.astimezone(ZoneInfo(clinic.timezone)),
    }
    # In the patient's own language, whatever language the sweep runs in.
    with translation.override(patient.language):
        subject = (gettext("Reminder: a one-minute check-in from {clinic}") if reminder
                   else gettext("A one-minute check-in from {clinic}")).format(clinic=clinic.name)
        text = render_to_string("followups/email/checkin.txt", context)
        html = render_to_string("followups/email/checkin.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=_from_clinic(clinic),
        to=[patient.email],
        reply_to=[clinic.email] if clinic.email else None,
        headers={"Message-ID": checkin_message_id(checkin, reminder=reminder),
                 "Auto-Submitted": "auto-generated", "Content-Language": patient.language,
                 "List-Unsubscribe": f"<{unsubscribe}>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.attach_alternative(html, "text/html")
    return message


def escalation_alert_email(escalation, *, recipients: list[str],
                           renotify: bool) -> EmailMultiAlternatives:
    clinic = escalation.patient.clinic
    admin_url = settings.SITE_URL + reverse("admin:followups_escalation_change",
                                            args=[escalation.pk])
    context = {"clinic": clinic, "admin_url": admin_url, "renotify": renotify,
               "escalation_id": escalation.pk,
               "deadline_minutes": int(settings.URGENT_ACK_DEADLINE.total_seconds() // 60)}
    kind = "renotify" if renotify else "alert"
    subject = (f"Still unacknowledged: urgent patient follow-up at {clinic.name}" if renotify
               else f"Urgent: a patient of {clinic.name} needs a call today")
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("followups/email/alert.txt", context),
        from_email=formataddr(("Aftercare desk", settings.DEFAULT_FROM_EMAIL)),
        to=recipients,
        headers={"Message-ID": f"<escalation-{escalation.pk}-{kind}@{site_domain()}>",
                 "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string("followups/email/alert.html", context),
                               "text/html")
    return message
