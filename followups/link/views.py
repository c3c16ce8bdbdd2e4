"""The patient's check-in page, reached from the emailed link, no login.

The token in the URL is the only credential, so: a GET never uses it up (mail
scanners open links), every way a link can be dead looks the same, requests
are budgeted per address, and the token is never logged by this module.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.decorators import decorator_from_middleware
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from PIL import Image, ImageDraw

from followups.assessment.guidance import guidance_for_answers
from followups.assessment.rules import Assessment
from followups.escalations.services import response_answers
from followups.link import ratelimit
from followups.link.forms import CheckInForm
from followups.models import CheckInResponse
from followups.selectors import checkin_for_token
from followups.services import CheckInClosed, CheckInNotOpen, response_record

logger = logging.getLogger(__name__)

# Links carry secrets.token_urlsafe(32): 43 URL-safe characters. Anything far
# from that shape is refused before it reaches the database.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,100}")

# No scripts at all; styles are one inline <style> block; nothing from
# another host; the form posts only back to us; never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

REFERRER_POLICY = "no-referrer"


class _CsrfWithoutReferrer(CsrfViewMiddleware):
    """Django's CSRF check minus its Origin/Referer comparison.

    The patient's pages send ``Referrer-Policy: no-referrer`` so the token in
    the URL never leaves in a Referer header; browsers then post the form with
    ``Origin: null`` and no Referer, which the stock middleware refuses. The
    CSRF cookie (SameSite=Lax) must still match the form's hidden token, and
    the URL itself carries a 256-bit secret a forging site cannot know.
    """

    def _origin_verified(self, request) -> bool:
        return True

    def _check_referer(self, request) -> None:
        return None


# The languages patients read, as each is named in itself (settings.LANGUAGES).
PATIENT_LANGUAGES = dict(settings.LANGUAGES)


def _chosen_language(request) -> str | None:
    """The language the patient picked on the page (?lang=), if it is one we have."""
    code = request.GET.get("lang", "")
    return code if code in PATIENT_LANGUAGES else None


def _neutral_language(request) -> str:
    # A dead link's page may not use the patient's language: that would tell a
    # guesser the link once existed. The browser's own language is no secret.
    return _chosen_language(request) or translation.get_language_from_request(request)


def _language_links(current: str, *, in_page: bool = False) -> list[dict]:
    """The page itself in each language: a query alone keeps the path, and the
    link's token is never written into the page. ``in_page``: the page holds
    every language and each link is an anchor to one (the result page, whose
    link is used up)."""
    return [{"code": code, "name": name, "current": code == current,
             "href": f"#result-{code}" if in_page else f"?lang={code}"}
            for code, name in PATIENT_LANGUAGES.items()]


def _patient_page(request, template: str, context: dict, *, status: int = 200,
                  language: str | None = None, in_page_languages: bool = False):
    language = language or _neutral_language(request)
    with translation.override(language):
        html = render_to_string(template, {
            **context,
            "language_links": _language_links(language, in_page=in_page_languages),
        }, request)
    response = _patient_response(html, status=status)
    response["Content-Language"] = language
    return response


def _patient_response(html: str, *, status: int = 200) -> HttpResponse:
    response = HttpResponse(html, status=status)
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Referrer-Policy"] = REFERRER_POLICY
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _link_unavailable(request):
    # One page, one status, one body for unknown, expired and used links: the
    # answer must not tell a guesser which tokens ever existed.
    return _patient_page(request, "followups/link_unavailable.html", {}, status=404)


def _rate_limited(request):
    response = _patient_page(request, "followups/link_unavailable.html",
                             {"rate_limited": True}, status=429)
    response["Retry-After"] = str(ratelimit.retry_after_seconds())
    return response


# How long a patient is asked to wait when the database or a service is away.
OUTAGE_RETRY_AFTER_SECONDS = 300


def _calm_when_down(view):
    """A calm page (503, Retry-After) when the database or photo storage is away.

    Never Django's bare "Server Error": the patient is told their link still
    works and to try again in a few minutes. Nothing was stored (the answers
    are written in one transaction), so trying again loses nothing.
    """

    @wraps(view)
    def calm(request, token: str):
        try:
            return view(request, token)
        except (DatabaseError, OSError) + _storage_errors() as error:
            logger.error("patient link unavailable: %s", type(error).__name__)
            response = _patient_page(request, "followups/link_unavailable.html",
                                     {"down": True}, status=503)
            response["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
            return response

    return calm


@functools.cache
def _storage_errors() -> tuple[type[BaseException], ...]:
    """What an object store's client raises when it is away (MEDIA_STORAGE=s3)."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # the file backend only: its errors are OSErrors
        return ()
    return (BotoCoreError, ClientError)


def _tel_href(phone: str) -> str:
    digits = re.sub(r"[^\d+]", "", phone)
    return f"tel:{digits}" if digits else ""


def _guidance_page(request, *, clinic, response: CheckInResponse, language: str):
    # Guidance that fits their answers, not only their level: what worried us,
    # the emergency line, day 10 for a watch, the aftercare for their symptoms.
    # Chosen as codes; the template writes them in the patient's language.
    guidance = guidance_for_answers(
        assessment=Assessment.from_stored(level=response.assessment_level,
                                          reasons=response.assessment_reasons),
        answers=response_answers(response=response), comment=response.comments,
        language=language, watch_day=settings.CHECKIN_WATCH_DAY,
    )
    context = {
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "level": guidance.level.label,
        "guidance": guidance,
        "phone_href": _tel_href(clinic.phone),
    }
    # The same guidance (chosen once, from the patient's own words) written in
    # each language: the page's language links switch between them in the
    # page, since a GET of the link, answered, is "not available".
    versions = []
    for code in PATIENT_LANGUAGES:
        with translation.override(code):
            body = render_to_string("followups/checkin_done_body.html", context, request)
        versions.append({"code": code, "current": code == language,
                         "html": mark_safe(body)})  # rendered (escaped) just above
    return _patient_page(request, "followups/checkin_done.html",
                         {**context, "versions": versions}, language=language,
                         in_page_languages=True)


def _body_too_large(request, token: str):
    """A photo over the limit: said in the patient's language, with their clinic's phone.

    Nothing of the body is read: the link is looked up from its token alone
    (an unknown one gets the page in the browser's language, with no clinic).
    No "Connection: close": hop-by-hop headers are the server's to set, never a
    WSGI application's (PEP 3333), and a strict server (the stdlib's, which
    runserver uses) answers one with a 500.
    """
    checkin = checkin_for_token(token=token)
    clinic = checkin.session.patient.clinic if checkin is not None else None
    language = _chosen_language(request) or (
        checkin.session.patient.language if checkin is not None else None)
    return _patient_page(request, "followups/too_large.html", {
        "megabytes": settings.PHOTO_MAX_BYTES // (1024 * 1024),
        "clinic_name": clinic.name if clinic else "",
        "clinic_phone": clinic.phone if clinic else "",
        "phone_href": _tel_href(clinic.phone) if clinic else "",
    }, status=413, language=language)


def _before_the_body(view):
    """The budget, the link's shape and the body's declared size, before a byte is read.

    Nothing below this (the CSRF check included, which reads the form) runs
    for a client over its budget, a made-up link or a body over
    PATIENT_LINK_MAX_BODY: a 200 MB upload to a guessed link is refused
    from its headers, never parsed nor written anywhere.
    """

    @wraps(view)
    def guarded(request, token: str):
        if ratelimit.patient_link_rate_limited(request):
            return _rate_limited(request)
        if not TOKEN_SHAPE.fullmatch(token):
            return _link_unavailable(request)
        if request.method == "POST":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > settings.PATIENT_LINK_MAX_BODY:
                return _body_too_large(request, token)
        return view(request, token)

    return guarded


@_calm_when_down
@_before_the_body
@csrf_exempt  # replaced by _CsrfWithoutReferrer just below, not switched off
@decorator_from_middleware(_CsrfWithoutReferrer)
@require_http_methods(["GET", "HEAD", "POST"])
def checkin_view(request, token: str):
    checkin = checkin_for_token(token=token) if TOKEN_SHAPE.fullmatch(token) else None
    if checkin is None:
        return _link_unavailable(request)
    clinic = checkin.session.patient.clinic
    # The patient's language, or the one they picked on the page. The form's
    # texts are lazy: translated as the page is rendered in it.
    language = _chosen_language(request) or checkin.session.patient.language

    if request.method == "POST":
        form = CheckInForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                response = response_record(
                    checkin=checkin, answers=form.answers(),
                    channel=CheckInResponse.Channel.PATIENT_LINK,
                    photo=form.cleaned_data["photo"],
                )
            except CheckInClosed:
                # The other of two racing submissions won: this link is used.
                return _link_unavailable(request)
            except CheckInNotOpen:
                # A link goes out at its check-in's due time, so none reaches
                # this; were one to, it cannot be used yet.
                return _link_unavailable(request)
            except ValidationError as error:
                # The answers' own rules refused them: shown on the form.
                form.add_error(None, error)
            else:
                return _guidance_page(request, clinic=clinic, response=response,
                                      language=language)
        photo_dropped = bool(request.FILES.get("photo"))
    else:
        form = CheckInForm()
        photo_dropped = False

    context = {
        "form": form,
        "clinic": clinic,
        "day": checkin.day,
        "phone_href": _tel_href(clinic.phone),
        "photo_dropped": photo_dropped,
    }
    return _patient_page(request, "followups/checkin_form.html", context, language=language)


@functools.cache
def _favicon() -> bytes:
    # The masthead's green with a white square: drawn once, no file to ship.
    image = Image.new("RGBA", (32, 32), (0, 89, 79, 255))
    ImageDraw.Draw(image).rounded_rectangle((8, 8, 23, 23), radius=3, fill=(255, 255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="ICO", sizes=[(32, 32)])
    return buffer.getvalue()


@require_http_methods(["GET", "HEAD"])
def favicon_view(request):
    """Browsers ask every site for /favicon.ico; a patient's page should not get a 404."""
    response = HttpResponse(_favicon(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response
