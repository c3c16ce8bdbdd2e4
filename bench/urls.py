"""The product's URLs, plus the baseline the patient form is measured against.

The baseline is the least a link-answering view can do behind the same server,
workers and middleware (CSRF included): GET hands out the CSRF token in a
form, as the product's page does; POST does one indexed read (the link, by its
token's hash) and one insert (the answers) and answers with a line of text. No
validation, no assessment, no template.
"""

from django.db import connection
from django.http import HttpResponse, HttpResponseNotFound
from django.middleware.csrf import get_token
from django.urls import include, path

from followups.tokens import token_hash

BASELINE_PREFIX = "bench/baseline/c/"

_ANSWER_COLUMNS = ("rash", "breakouts", "itching", "swelling", "pain", "rash_trend",
                   "breakouts_trend", "comments")
_YES_NO_COLUMNS = ("fever", "pus", "hives")


def baseline_checkin(request, token: str):
    if request.method == "GET":
        return HttpResponse('<form method="post"><input type="hidden" '
                            f'name="csrfmiddlewaretoken" value="{get_token(request)}"></form>')
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT checkin_id FROM followups_checkinlink"
            " WHERE token_hash = %s AND revoked_at IS NULL AND expires_at > now()",
            [token_hash(token)],
        )
        row = cursor.fetchone()
        if row is None:
            return HttpResponseNotFound("unknown link")
        columns = (*_ANSWER_COLUMNS, *_YES_NO_COLUMNS)
        values = [request.POST.get(name, "") for name in _ANSWER_COLUMNS]
        values += [request.POST.get(name) == "yes" for name in _YES_NO_COLUMNS]
        cursor.execute(
            f"INSERT INTO followups_checkinresponse (checkin_id, {', '.join(columns)},"
            " channel, submitted_at, assessment_level, assessment_reasons)"
            f" VALUES (%s, {', '.join(['%s'] * len(columns))},"
            " 'patient_link', now(), 'none', '[]')",
            [row[0], *values],
        )
    return HttpResponse("Thank you.")


urlpatterns = [
    path(f"{BASELINE_PREFIX}<str:token>/", baseline_checkin, name="bench-baseline-checkin"),
    path("", include("clinic.urls")),
]
