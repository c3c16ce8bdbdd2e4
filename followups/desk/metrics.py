"""The desk's own figures on the dashboard: the same numbers as ``GET /api/metrics/``, drawn.

Counts a nurse acts on are figures that link to the list behind them; rates
and times read faster as bars against their target (the urgent deadline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from followups.desk.charts import bars_svg
from followups.metrics import DEFAULT_DAYS, desk_metrics
from patients.models import Clinic


@dataclass(frozen=True)
class DeskFigure:
    label: str
    value: str
    url: str
    tone: str = "neutral"
    note: str = ""


@dataclass
class DeskFigures:
    metrics: dict
    figures: list[DeskFigure] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{round(100 * rate)}%"


def _duration(minutes: float | None) -> str:
    if minutes is None:
        return "no call yet"
    if minutes < 120:
        return f"{round(minutes)} min"
    return f"{minutes / 60:.1f} h"


def _queue(**params) -> str:
    url = reverse("admin:followups_escalation_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def desk_figures(clinics: Sequence[Clinic], *, now: datetime,
                 days: int = DEFAULT_DAYS) -> DeskFigures:
    return desk_figures_from(desk_metrics(clinics=clinics, now=now, days=days))


def desk_figures_from(metrics: dict) -> DeskFigures:
    """The panel drawn from ``desk_metrics``' figures (counted now, or the network's snapshot)."""
    days = metrics["days"]
    deadline = int(settings.URGENT_ACK_DEADLINE.total_seconds() // 60)
    late = metrics["urgent_uncontacted_2h"]
    figures = [
        DeskFigure(f"Answered ({days} days)", _percent(metrics["response_rate"]),
                   reverse("admin:followups_checkin_changelist") + "?due=30d",
                   note=f"{metrics['answered']} of the {metrics['checkins_sent']} check-ins "
                        "sent."),
        DeskFigure("Answers flagged", _percent(metrics["flagged_rate"]),
                   _queue(status="all"),
                   note="Review {} · urgent {} of the answered check-ins.".format(
                       _percent(metrics["flagged_rate_by_level"]["review"]),
                       _percent(metrics["flagged_rate_by_level"]["urgent"]))),
        DeskFigure(f"Urgent, no call within {deadline // 60} h", str(late),
                   _queue(status="all", level__exact="urgent"),
                   tone="urgent" if late else "neutral",
                   note=f"Flags of the last {days} days with no call recorded in time."),
    ]
    contact_rows = [
        ("First call, median", metrics["median_minutes_to_first_contact"],
         _duration(metrics["median_minutes_to_first_contact"])),
        ("First call, 90th percentile", metrics["p90_minutes_to_first_contact"],
         _duration(metrics["p90_minutes_to_first_contact"])),
        ("Resolved, median", metrics["median_minutes_to_resolution"],
         _duration(metrics["median_minutes_to_resolution"])),
    ]
    longest = max([deadline * 1.5, *(value or 0 for _, value, _ in contact_rows)])
    times = bars_svg(
        rows=contact_rows, maximum=longest, chart_id="time-to-act",
        title=f"Time from a flag to the first call and to its resolution ({days} days)",
        description="; ".join(f"{label}: {words}" for label, _, words in contact_rows)
        + f". The urgent deadline is {deadline} minutes.",
        target=(deadline, f"urgent deadline, {deadline} min"),
    )
    rate_rows = [(f"Day-{day} check-ins", part["response_rate"],
                  f"{_percent(part['response_rate'])} ({part['answered']} of {part['sent']})")
                 for day, part in metrics["by_day"].items()]
    rate_rows += [(f"By {channel}", part["response_rate"],
                   f"{_percent(part['response_rate'])} ({part['answered']} of {part['sent']})")
                  for channel, part in sorted(metrics["by_channel"].items())]
    rates = bars_svg(
        rows=rate_rows, maximum=1.0, chart_id="response-rates",
        title=f"Check-ins answered, of those sent ({days} days)",
        description="; ".join(f"{label}: {words}" for label, _, words in rate_rows) + ".",
    )
    return DeskFigures(metrics=metrics, figures=figures, charts=[times, rates])
