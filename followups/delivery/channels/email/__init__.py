"""The email channel: check-in emails through Django's email backend, an SMTP server or
an email provider through django-anymail, whose tracking webhook reports bounces.

``messages`` builds the emails, ``smtp`` sends them and tells the answers
apart, ``tracking`` reads the provider's events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import URLPattern, URLResolver, include, path

from followups.delivery.channels.base import Channel, EventReport, Failure
from followups.delivery.channels.email.messages import address_check, checkin_email
from followups.delivery.channels.email.smtp import EmailSession, email_failure, email_reason
from followups.delivery.channels.email.tracking import tracking_connect

if TYPE_CHECKING:
    from followups.models import CheckIn


class EmailChannel(Channel[EmailMessage]):
    name = "email"

    def checkin_message(self, checkin: CheckIn, *, token: str, reminder: bool) -> EmailMessage:
        address_check(checkin.session.patient.email)
        return checkin_email(checkin, token=token, reminder=reminder)

    def session(self) -> EmailSession:
        return EmailSession(self)

    def classify(self, error: BaseException) -> Failure:
        return email_failure(error)

    def reason(self, error: BaseException) -> str:
        return email_reason(error)

    def urlpatterns(self) -> list[URLPattern | URLResolver]:
        # The provider's tracking webhook, under /anymail/<provider>/tracking/;
        # not served at all without a secret to check its calls against.
        if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
            return []
        return [path("anymail/", include("anymail.urls"))]

    def connect(self, *, report: EventReport) -> None:
        tracking_connect(channel=self.name, report=report)
