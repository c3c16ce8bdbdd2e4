"""Twilio's two callbacks: a text's delivery status, and the replies patients send.

Both are signed by Twilio with ``X-Twilio-Signature`` (HMAC-SHA1 of the URL
it called and its parameters, keyed with the account's auth token), checked
with the library's own ``RequestValidator`` against ``SITE_URL``'s URL of
the callback (not the request's Host, which a proxy rewrites). Unsigned or
wrongly signed: 403, and nothing changes.

- status (``POST /sms/twilio/status/``): ``delivered`` marks the delivery
  delivered; ``failed`` or ``undelivered`` (an unreachable number, a
  landline, a carrier's filter) fails it and its check-in, exactly as an
  email's bounce does (``followups.services.delivery_provider_event``);
- inbound (``POST /sms/twilio/inbound/``): STOP and its French and Spanish
  equivalents opt the sender's number out of texts, START back in
  (``keywords``); any other reply is neither kept nor logged (it may say
  how the patient is: they are asked to use the link or call the clinic).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from followups.delivery.channels.base import EventReport, ProviderEvent
from followups.delivery.channels.sms.keywords import Keyword, keyword_of
from followups.models import DeliveryStatus

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def signature_valid(request: HttpRequest) -> bool:
    from twilio.request_validator import RequestValidator

    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    url = settings.SITE_URL + request.get_full_path()
    params = {key: request.POST.get(key, "") for key in request.POST}
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature)


def signed(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def checked(request: HttpRequest) -> HttpResponse:
        if not signature_valid(request):
            logger.warning("a Twilio callback without a valid signature was refused")
            return HttpResponseForbidden("invalid signature")
        return view(request)

    checked.__name__ = view.__name__
    return csrf_exempt(require_POST(checked))


def status_event(params, *, channel: str, at: datetime) -> ProviderEvent | None:
    """The channel's event for a status callback we keep, or None."""
    sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    if not sid:
        return None
    if status == "delivered":
        return ProviderEvent(channel=channel, status=DeliveryStatus.DELIVERED,
                             provider_message_id=sid, at=at)
    if status in ("failed", "undelivered"):
        code = params.get("ErrorCode", "")
        return ProviderEvent(channel=channel, status=DeliveryStatus.FAILED,
                             provider_message_id=sid, at=at,
                             error=f"twilio: {status}" + (f" ({code})" if code else ""))
    return None


class Callbacks:
    """The views, bound to the services' ``report`` once the channel is connected."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.report: EventReport | None = None

    def status(self, request: HttpRequest) -> HttpResponse:
        event = status_event(request.POST, channel=self.channel, at=timezone.now())
        if event is not None and self.report is not None and not self.report(event):
            logger.info("twilio %s status changed nothing (a text we do not know, or one "
                        "already settled)", event.status)
        return HttpResponse(status=204)

    def inbound(self, request: HttpRequest) -> HttpResponse:
        from followups.consent.services import sms_keyword_received

        keyword = keyword_of(request.POST.get("Body", ""))
        if keyword is not None:
            sms_keyword_received(number=request.POST.get("From", ""),
                                 opt_out=keyword is Keyword.OPT_OUT, word=keyword.value)
        return HttpResponse(EMPTY_TWIML, content_type="text/xml")
