from django import template
from django.utils import timezone

from health.heartbeat import sweep_heartbeat_last, sweep_is_stale

register = template.Library()


@register.simple_tag
def sweep_status() -> dict:
    """For the dashboard: when the last sweep finished, and whether that is too long ago."""
    last = sweep_heartbeat_last()
    return {"last": last, "stale": sweep_is_stale(last=last, now=timezone.now())}
