"""Liveness and readiness, for load balancers, docker-compose and monitoring; the 500 handler."""

import asyncio
import sys

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.views.decorators.http import require_GET
from health_check.views import HealthCheckView

from health.checks import Sweeps

# The name each check has in the readiness document, and the check itself.
READINESS_CHECKS = {
    "database": "health_check.checks.Database",
    "broker": "health.checks.Broker",
    "storage": "health_check.checks.Storage",
    "cache": "health_check.checks.Cache",
    "sweeps": "health.checks.Sweeps",
    "mail": "health.checks.Mail",
    "clocks": "health.checks.Clocks",
}


@require_GET
def healthz(request):
    """Liveness: this process answers and reaches the database. Cheap: no other server.

    The database gone (or not answering within the connect timeout): a 503,
    the answer that says "not now", never a 500.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "failing", "error": "the database does not answer"},
                            status=503)
    return JsonResponse({"status": "ok"})


class ReadinessView(HealthCheckView):
    """Readiness: every part the product needs, each reported, as JSON; 503 if any fails.

    The sweeps check fails when no sweep has finished for SWEEP_STALE_AFTER (beat
    or every worker is down). No patient data, addresses or credentials appear:
    each check's message is its own short sentence.
    """

    checks = tuple(READINESS_CHECKS.values())
    http_method_names = ["get", "head"]

    async def get(self, request, *args, **kwargs):
        with self.get_executor() as executor:
            self.results = await asyncio.gather(
                *(check.get_result(executor) for check in self.get_checks())
            )
        checks = {
            name: ({"status": "ok"} if result.error is None
                   else {"status": "failing", "error": str(result.error)})
            for name, result in zip(READINESS_CHECKS, self.results, strict=True)
        }
        last = next(result.check.last for result in self.results
                    if isinstance(result.check, Sweeps))
        failing = any(check["status"] != "ok" for check in checks.values())
        return JsonResponse({
            "status": "failing" if failing else "ok",
            "checks": checks,
            "last_sweep_at": last.isoformat() if last else None,
            "sweep_stale_after_seconds": int(settings.SWEEP_STALE_AFTER.total_seconds()),
        }, status=503 if failing else 200)


readyz = ReadinessView.as_view()


# How long a client is asked to wait when the database is busy or away.
BUSY_RETRY_AFTER_SECONDS = 30


def server_error(request):
    """Django's 500, except when the database was away, locked or too slow: a 503.

    A statement or lock timeout (core.env.database_timeouts) or a lost
    connection is "try again shortly", said with Retry-After, wherever it
    happened (a view, a middleware). The patient's pages answer their own
    calm page first (followups.link.views); this is every other page's.
    """
    error = sys.exc_info()[1]
    if not isinstance(error, OperationalError):
        return HttpResponseServerError(
            "<h1>Server Error (500)</h1>", content_type="text/html; charset=utf-8")
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"detail": "The service is busy; try again shortly."}, status=503)
    else:
        response = HttpResponse(
            "<!doctype html><title>Please try again shortly</title>"
            "<h1>Please try again shortly</h1><p>The service is busy just now; nothing you "
            "sent has been lost. Please try again in a minute.</p>",
            status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
    return response
