"""The product's URLs, plus the baselines some of its pages are measured against.

Each baseline is the least a view can do for the same job behind the same
server, middleware and session sign-in:

- ``baseline_checkin`` (the patient form): GET hands out the CSRF token in a
  form, as the product's page does; POST does one indexed read (the link, by
  its token's hash) and one insert (the answers, every column the product's
  row has: a comment waits to be read, other columns take the model's
  defaults) and answers with a line of text. No validation, no assessment,
  no template.
- ``baseline_escalation_queue`` (the admin's escalation queue): one SQL query
  for the same page of the same rows, rendered as an HTML table of the same
  columns by a small inline template compiled once (each reason's message
  written from its code, as every page writes it).
- ``baseline_escalation_list`` (``GET /api/escalations/?status=open``): the
  same query's page as a JsonResponse of dicts with the API's fields.

The escalation baselines answer 403 to anyone not signed in (the queue: not
staff either), and show only the rows of the user's clinics, by a subquery
in the same SQL: one query per request besides the middleware's own (the
session, the user), which the product's pages share.
"""

import json
from functools import cache

from django.db import connection
from django.http import (
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseNotFound,
    JsonResponse,
)
from django.middleware.csrf import get_token
from django.template import Context, Template
from django.urls import include, path, reverse

from followups.assessment.symptoms import severity_names, trend_names, yes_no_names
from followups.escalations.messages import reasons_with_messages
from followups.link.tokens import token_hash

BASELINE_PREFIX = "bench/baseline/c/"
QUEUE_BASELINE_PATH = "bench/baseline/escalations/queue/"
LIST_BASELINE_PATH = "bench/baseline/escalations/list/"
QUEUE_STATUSES = ("open", "acknowledged")  # the admin queue's default: not resolved

_ANSWER_COLUMNS = (*severity_names(), *trend_names(), "comments")
_YES_NO_COLUMNS = yes_no_names()


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
        values = [request.POST.get(name, "") for name in _ANSWER_COLUMNS]
        values += [request.POST.get(name) == "yes" for name in _YES_NO_COLUMNS]
        # As the product stores it: a comment waits to be read (none is flagged here).
        values.append(bool(request.POST.get("comments", "").strip()))
        sql, defaults = _response_insert()
        cursor.execute(sql, [row[0], *values, *defaults])
    return HttpResponse("Thank you.")


@cache
def _response_insert() -> tuple[str, list]:
    """The answers' INSERT: the columns written above, then every other one's default.

    The other columns (bench/columns.py) are read from the model once per
    worker, so a field the answers gain later is written as the ORM would.
    """
    from bench.columns import columns_not_written

    columns = ("checkin_id", *_ANSWER_COLUMNS, *_YES_NO_COLUMNS, "comment_waiting")
    fixed = {"channel": "'patient_link'", "submitted_at": "now()",
             "assessment_level": "'none'", "assessment_reasons": "'[]'"}
    others = columns_not_written("followups_checkinresponse", (*columns, *fixed))
    names = [*columns, *fixed, *(column.name for column in others)]
    placeholders = [*(["%s"] * len(columns)), *fixed.values(),
                    *(column.placeholder for column in others)]
    return (f"INSERT INTO followups_checkinresponse ({', '.join(names)})"
            f" VALUES ({', '.join(placeholders)})",
            [column.value for column in others])


# The escalation pages --------------------------------------------------------------------

# One page of a user's escalations: the admin queue's and the API's order
# (urgent first, then the oldest), only the clinics the user belongs to.
ESCALATION_PAGE = """
    SELECT {columns}
    FROM followups_escalation e JOIN patients_patient p ON p.id = e.patient_id{joins}
    WHERE p.clinic_id IN (SELECT m.clinic_id FROM patients_clinicmembership m
                          WHERE m.user_id = %s)
      AND e.status = ANY(%s)
    ORDER BY e.level_rank DESC, e.created_at, e.id
    LIMIT %s
"""
# The queue's columns: level, patient (linked), check-in day, reasons, raised,
# status, acknowledged by.
QUEUE_PAGE = ESCALATION_PAGE.format(
    columns="e.id, e.level, e.status, e.reasons, e.created_at, p.id, p.first_name, p.last_name,"
            " c.day, coalesce(nullif(trim(u.first_name || ' ' || u.last_name), ''), u.username)",
    joins="\n    JOIN followups_checkin c ON c.id = e.checkin_id"
          "\n    LEFT JOIN auth_user u ON u.id = e.acknowledged_by_id",
)
# The API's fields (followups.api.checkins.EscalationSerializer), under the API's names.
LIST_FIELDS = ("id", "patient", "session", "checkin", "level", "status", "reasons",
               "created_at", "acknowledged_by", "acknowledged_at", "resolved_by",
               "resolved_at", "resolution_note")
LIST_PAGE = ESCALATION_PAGE.format(
    columns="e.id, e.patient_id, e.session_id, e.checkin_id, e.level, e.status, e.reasons,"
            " e.created_at, e.acknowledged_by_id, e.acknowledged_at, e.resolved_by_id,"
            " e.resolved_at, e.resolution_note",
    joins="",
)
_QUEUE_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Escalations</title></head><body>
<table id="result_list"><thead><tr><th>Level</th><th>Patient</th><th>Check-in</th><th>Why</th>
<th>Raised</th><th>Status</th><th>Acknowledged by</th></tr></thead><tbody>
{% for row in rows %}<tr data-id="{{ row.id }}">
<td><span class="lvl lvl-{{ row.level }}">{{ row.level|upper }}</span></td>
<td><a href="{{ patient_prefix }}{{ row.patient_id }}/change/">{{ row.first_name }} {{ row.last_name }}</a></td>
<td>Day {{ row.day }}</td>
<td><ul class="reasons">{% for reason in row.reasons %}<li><code>{{ reason.code }}</code> {{ reason.message }}</li>{% endfor %}</ul></td>
<td><time datetime="{{ row.created_at|date:"c" }}">{{ row.created_at|timesince }} ago</time></td>
<td>{{ row.status|capfirst }}</td>
<td>{{ row.acknowledged_by|default:"–" }}</td>
</tr>{% endfor %}
</tbody></table></body></html>
"""  # noqa: E501
_QUEUE_COLUMNS = ("id", "level", "status", "reasons", "created_at", "patient_id", "first_name",
                  "last_name", "day", "acknowledged_by")


@cache
def _queue_template() -> Template:
    return Template(_QUEUE_TEMPLATE)


@cache
def _patient_change_prefix() -> str:
    return reverse("admin:patients_patient_change", args=[0]).removesuffix("0/change/")


def _page_size(request, default: int) -> int:
    """``?size=``: the benchmark passes the product's page size (admin, API) here."""
    size = request.GET.get("size", "")
    return int(size) if size.isdigit() and 0 < int(size) <= 500 else default


def _page(request, sql: str, statuses: list[str], size: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [request.user.pk, statuses, size])
        return cursor.fetchall()


def baseline_escalation_queue(request):
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return HttpResponseForbidden("staff only")
    rows = []
    for row in _page(request, QUEUE_PAGE, list(QUEUE_STATUSES), _page_size(request, 50)):
        values = dict(zip(_QUEUE_COLUMNS, row, strict=True))
        # jsonb arrives as text, as for the ORM; each message is written from its code, as
        # the product writes it.
        values["reasons"] = reasons_with_messages(json.loads(values["reasons"]))
        rows.append(values)
    html = _queue_template().render(Context({"rows": rows,
                                             "patient_prefix": _patient_change_prefix()}))
    return HttpResponse(html)


def baseline_escalation_list(request):
    user = request.user
    if not (user.is_authenticated and user.is_active):
        return HttpResponseForbidden("sign in")
    status = request.GET.get("status")
    statuses = [status] if status else ["open", "acknowledged", "resolved"]
    results = []
    for row in _page(request, LIST_PAGE, statuses, _page_size(request, 50)):
        values = dict(zip(LIST_FIELDS, row, strict=True))
        values["reasons"] = reasons_with_messages(json.loads(values["reasons"]))
        results.append(values)
    return JsonResponse({"results": results})


urlpatterns = [
    path(f"{BASELINE_PREFIX}<str:token>/", baseline_checkin, name="bench-baseline-checkin"),
    path(QUEUE_BASELINE_PATH, baseline_escalation_queue, name="bench-baseline-queue"),
    path(LIST_BASELINE_PATH, baseline_escalation_list, name="bench-baseline-list"),
    path("", include("clinic.urls")),
]
