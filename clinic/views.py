"""Liveness and readiness, for load balancers, docker-compose and monitoring."""

import asyncio

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
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
}


@require_GET
def healthz(request):
    """Liveness: this process answers and reaches the database. Cheap: no other server."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
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
