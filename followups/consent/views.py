"""``/u/<token>/``: the patient's way out of emails (RFC 8058 one-click, and a page).

A ``GET`` (a person, or a mail scanner following the link) only shows a
page with one button: it changes nothing. A ``POST`` (that button, or a
mail client's one-click ``List-Unsubscribe=One-Click``) opts the patient out
of email. No CSRF token: a mail client's POST cannot carry one, and the
URL's 256-bit secret is what a forger would need. An unknown link gets the
same page as a dead check-in link.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from followups.consent.links import unsubscribe_patient
from followups.consent.services import How, patient_opt_out
from followups.link.views import TOKEN_SHAPE, _link_unavailable, _patient_page


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    patient = unsubscribe_patient(token) if TOKEN_SHAPE.fullmatch(token) else None
    if patient is None:
        return _link_unavailable(request)
    channel = "email"
    done = patient.opted_out_at(channel) is not None
    if request.method == "POST" and not done:
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        patient_opt_out(patient=patient, channel=channel,
                        how=How.ONE_CLICK if one_click else How.LINK)
        done = True
    return _patient_page(request, "followups/unsubscribe.html", {
        "done": done, "clinic_name": patient.clinic.name, "clinic_phone": patient.clinic.phone,
    }, language=patient.language)
