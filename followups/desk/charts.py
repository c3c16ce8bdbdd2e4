"""The symptom trend chart, drawn on the server as inline SVG.

Pure: standard library only, data in, an SVG string out. No script, no fonts
or styles from elsewhere, so the patient's page works offline and leaks
nothing to a third party. The chart reads without colour: every symptom has
its own marker shape and line dash as well as its colour, and the SVG
carries a <title> and a <desc> that say the same in words. Pages show the
numbers as a table next to it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from itertools import cycle

from followups.assessment.symptoms import Scale, Severity, symptoms_on

# One line per symptom rated on the severity scale, in the order asked.
SYMPTOMS = tuple(symptom.name for symptom in symptoms_on(Scale.SEVERITY))
LABELS = {symptom.name: symptom.label for symptom in symptoms_on(Scale.SEVERITY)}
SEVERITY_WORDS = tuple(step.words for step in Severity)

# colour, dash pattern, marker shape: three cues per symptom, given in the
# symptoms' order (a sixth symptom would start again with the first style).
PALETTE = (
    ("#b03a2e", "", "circle"),
    ("#6c3483", "7 3", "square"),
    ("#1f618d", "2 3", "triangle"),
    ("#9a6400", "9 3 2 3", "diamond"),
    ("#196f3d", "4 2", "cross"),
)
STYLES = dict(zip(SYMPTOMS, cycle(PALETTE)))

WIDTH, HEIGHT = 520, 250
LEFT, RIGHT, TOP, BOTTOM = 92, 120, 34, 44
MARKER = 5
# Room between the axis words and the first day's markers, so "none" never
# sits under a marker.
PAD = 20
# Series drawn at one value (often "none") are set apart, sideways and
# vertically, by this much each, so five lines at one value stay five lines.
SPREAD_X, SPREAD_Y = 3, 3


def _x(day: int, days: Sequence[int]) -> float:
    first, last = min(days), max(days)
    span = (last - first) or 1
    return LEFT + PAD + (day - first) / span * (WIDTH - LEFT - RIGHT - 2 * PAD)


def _y(severity: int) -> float:
    return TOP + (4 - severity) / 4 * (HEIGHT - TOP - BOTTOM)


def _marker(shape: str, x: float, y: float, colour: str, label: str) -> str:
    tip = f"<title>{escape(label)}</title>"
    m = MARKER
    if shape == "circle":
        return (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{m}" fill="{colour}">{tip}</circle>')
    if shape == "square":
        return (f'<rect x="{x - m:.1f}" y="{y - m:.1f}" width="{2 * m}" height="{2 * m}" '
                f'fill="{colour}">{tip}</rect>')
    if shape == "triangle":
        points = f"{x:.1f},{y - m - 1:.1f} {x + m + 1:.1f},{y + m:.1f} {x - m - 1:.1f},{y + m:.1f}"
        return f'<polygon points="{points}" fill="{colour}">{tip}</polygon>'
    if shape == "diamond":
        points = f"{x:.1f},{y - m - 1:.1f} {x + m + 1:.1f},{y:.1f} {x:.1f},{y + m + 1:.1f} " \
                 f"{x - m - 1:.1f},{y:.1f}"
        return f'<polygon points="{points}" fill="{colour}">{tip}</polygon>'
    # cross
    return (f'<path d="M{x - m:.1f},{y - m:.1f}L{x + m:.1f},{y + m:.1f}'
            f'M{x - m:.1f},{y + m:.1f}L{x + m:.1f},{y - m:.1f}" stroke="{colour}" '
            f'stroke-width="2.5">{tip}</path>')


def _label(symptom: str) -> str:
    return LABELS[symptom]


def _word(severity: int | None) -> str:
    return "not answered" if severity is None else SEVERITY_WORDS[severity]


def chart_description(series: Mapping[str, Mapping[int, int | None]],
                      days: Sequence[int]) -> str:
    """The chart in words, for screen readers and for anyone who cannot see colour."""
    parts = []
    for symptom in SYMPTOMS:
        points = series.get(symptom, {})
        steps = ", ".join(f"day {day} {_word(points.get(day))}" for day in days)
        parts.append(f"{_label(symptom)}: {steps}.")
    return " ".join(parts)


def symptom_chart_svg(*, series: Mapping[str, Mapping[int, int | None]], chart_id: str,
                      title: str = "Symptoms after the session",
                      days: Sequence[int] = (0, 2, 7)) -> str:
    """An SVG line chart of each symptom's severity (0 none … 4 very severe) by day.

    ``series`` maps a symptom to ``{day: severity or None}``; None is a day
    not answered (yet), drawn as a gap, never as zero. Day 0 is the baseline
    before the session (none).
    """
    safe_id = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id)
    title_id, desc_id = f"{safe_id}-title", f"{safe_id}-desc"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="symptom-chart" id="{safe_id}" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(chart_description(series, days))}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
    ]
    # Grid and axes.
    for severity, word in enumerate(SEVERITY_WORDS):
        y = _y(severity)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                   f'stroke="#ddd" stroke-width="1"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" '
                   f'fill="#333">{escape(word)}</text>')
    for day in days:
        x = _x(day, days)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" '
                   f'stroke="#eee" stroke-width="1"/>')
        label = "Day 0 (before)" if day == 0 else f"Day {day}"
        out.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" '
                   f'fill="#333">{escape(label)}</text>')
    out.append(f'<text x="{LEFT}" y="{TOP - 14}" fill="#333" font-weight="bold">'
               f'{escape(title)}</text>')

    # One line per symptom, nudged sideways and up or down so that equal values
    # (four symptoms at "none") stay distinguishable lines, not one.
    middle = (len(SYMPTOMS) - 1) / 2
    for index, symptom in enumerate(SYMPTOMS):
        colour, dash, shape = STYLES[symptom]
        nudge, lift = (index - middle) * SPREAD_X, (index - middle) * SPREAD_Y
        points = series.get(symptom, {})
        run: list[tuple[float, float]] = []
        segments: list[list[tuple[float, float]]] = []
        markers = []
        for day in days:
            answered = points.get(day)
            if answered is None:
                if run:
                    segments.append(run)
                run = []
                continue
            severity = max(0, min(4, int(answered)))
            xy = (_x(day, days) + nudge, _y(severity) + lift)
            run.append(xy)
            markers.append(_marker(shape, *xy, colour,
                                   f"{_label(symptom)}, day {day}: {SEVERITY_WORDS[severity]}"))
        if run:
            segments.append(run)
        out.append(f'<g class="series series-{symptom}">')
        for segment in segments:
            if len(segment) > 1:
                coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
                out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                           f'stroke-width="2"{dash_attr}/>')
        out.extend(markers)
        out.append("</g>")

    # Legend: marker, line sample and name.
    legend_x = WIDTH - RIGHT + 16
    for index, symptom in enumerate(SYMPTOMS):
        colour, dash, shape = STYLES[symptom]
        y = TOP + 8 + index * 22
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{legend_x}" y1="{y}" x2="{legend_x + 28}" y2="{y}" '
                   f'stroke="{colour}" stroke-width="2"{dash_attr}/>')
        out.append(_marker(shape, legend_x + 14, y, colour, _label(symptom)))
        out.append(f'<text x="{legend_x + 36}" y="{y + 4}" fill="#222">'
                   f'{escape(_label(symptom))}</text>')
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------- the clinic's month

# The dashboard's 30 days: (key, label, colour, dash, marker shape).
ACTIVITY_SERIES = (
    ("sent", "Check-ins sent", "#1f618d", "", "circle"),
    ("answered", "Answered", "#196f3d", "6 3", "square"),
    ("review", "Flagged for review", "#9a6400", "2 3", "diamond"),
    ("urgent", "Flagged urgent", "#a4161a", "9 3 2 3", "triangle"),
)
A_WIDTH, A_HEIGHT = 720, 240
A_LEFT, A_RIGHT, A_TOP, A_BOTTOM = 44, 150, 20, 40


def activity_chart_svg(*, days: Sequence, counts: Mapping[str, Sequence[int]], chart_id: str,
                       title: str, description: str) -> str:
    """Lines of the clinic's daily counts (``counts[key][i]`` for ``days[i]``), with a legend.

    ``days`` are dates, oldest first; the summary in words is the caller's
    ``description`` (also shown beside the chart).
    """
    safe_id = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id)
    top = max([1, *(value for key, *_ in ACTIVITY_SERIES for value in counts.get(key, ()))])
    step = max(1, -(-top // 4))  # four gridlines, whole numbers
    ceiling = step * 4
    span = max(1, len(days) - 1)

    def x(index: int) -> float:
        return A_LEFT + 8 + index / span * (A_WIDTH - A_LEFT - A_RIGHT - 16)

    def y(value: int) -> float:
        return A_TOP + (1 - value / ceiling) * (A_HEIGHT - A_TOP - A_BOTTOM)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="activity-chart" id="{safe_id}" '
        f'role="img" aria-labelledby="{safe_id}-title {safe_id}-desc" '
        f'viewBox="0 0 {A_WIDTH} {A_HEIGHT}" width="{A_WIDTH}" height="{A_HEIGHT}" '
        f'font-family="sans-serif" font-size="11">',
        f'<title id="{safe_id}-title">{escape(title)}</title>',
        f'<desc id="{safe_id}-desc">{escape(description)}</desc>',
        f'<rect x="0" y="0" width="{A_WIDTH}" height="{A_HEIGHT}" fill="#fff"/>',
    ]
    for line in range(5):
        value = line * step
        out.append(f'<line x1="{A_LEFT}" y1="{y(value):.1f}" x2="{A_WIDTH - A_RIGHT}" '
                   f'y2="{y(value):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{A_LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
                   f'fill="#333">{value}</text>')
    last = len(days) - 1
    for index, day in enumerate(days):
        # Weekly, and the last day; a weekly label too close to the last one
        # would overlap it ("6 Dec7 Dec"), so it gives way.
        if index == last or (index % 7 == 0 and last - index >= 4):
            out.append(f'<text x="{x(index):.1f}" y="{A_HEIGHT - A_BOTTOM + 16}" '
                       f'text-anchor="middle" fill="#333">{day.day} {day:%b}</text>')
    for order, (key, label, colour, dash, shape) in enumerate(ACTIVITY_SERIES):
        values = list(counts.get(key, ()))
        lift = (order - 1.5) * 1.5  # equal counts (often 0) stay four lines
        points = [(x(i), y(v) + lift) for i, v in enumerate(values)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<g class="series series-{key}">')
        if len(points) > 1:
            coords = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                       f'stroke-width="2"{dash_attr}/>')
        for (px, py), day, value in zip(points, days, values, strict=True):
            if value:
                out.append(_marker(shape, px, py, colour,
                                   f"{label}, {day.day} {day:%b}: {value}").replace(
                                       f'r="{MARKER}"', 'r="3"'))
        out.append("</g>")
        legend_y = A_TOP + 10 + order * 22
        legend_x = A_WIDTH - A_RIGHT + 14
        out.append(f'<line x1="{legend_x}" y1="{legend_y}" x2="{legend_x + 24}" y2="{legend_y}" '
                   f'stroke="{colour}" stroke-width="2"{dash_attr}/>')
        out.append(_marker(shape, legend_x + 12, legend_y, colour, label))
        out.append(f'<text x="{legend_x + 32}" y="{legend_y + 4}" fill="#222">'
                   f'{escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)


B_WIDTH, B_LABEL, B_ROW, B_TOP = 520, 190, 28, 10


def bars_svg(*, rows: Sequence[tuple[str, float | None, str]], maximum: float, chart_id: str,
             title: str, description: str, target: tuple[float, str] | None = None) -> str:
    """Horizontal bars: one ``(label, value or None, value in words)`` a row, on one scale.

    ``target`` draws a dashed line at a value (a deadline) with its words. A
    missing value is a row with its words and no bar.
    """
    safe_id = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id)
    height = B_TOP * 2 + B_ROW * len(rows) + (18 if target else 0)
    scale = (B_WIDTH - B_LABEL - 90) / (maximum or 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bars-chart" id="{safe_id}" '
        f'role="img" aria-labelledby="{safe_id}-title {safe_id}-desc" '
        f'viewBox="0 0 {B_WIDTH} {height}" width="{B_WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<title id="{safe_id}-title">{escape(title)}</title>',
        f'<desc id="{safe_id}-desc">{escape(description)}</desc>',
        f'<rect x="0" y="0" width="{B_WIDTH}" height="{height}" fill="#fff"/>',
    ]
    for index, (label, value, words) in enumerate(rows):
        top = B_TOP + index * B_ROW
        out.append(f'<text x="{B_LABEL - 8}" y="{top + 17}" text-anchor="end" fill="#222">'
                   f'{escape(label)}</text>')
        width = 0.0 if value is None else max(0.0, min(value, maximum)) * scale
        if width:
            out.append(f'<rect x="{B_LABEL}" y="{top + 5}" width="{width:.1f}" height="16" '
                       f'fill="#1f618d"/>')
        out.append(f'<text x="{B_LABEL + width + 6:.1f}" y="{top + 17}" fill="#222">'
                   f'{escape(words)}</text>')
    if target is not None:
        value, words = target
        x = B_LABEL + min(value, maximum) * scale
        bottom = B_TOP + B_ROW * len(rows)
        out.append(f'<line x1="{x:.1f}" y1="{B_TOP}" x2="{x:.1f}" y2="{bottom}" '
                   f'stroke="#a4161a" stroke-width="2" stroke-dasharray="5 3"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" '
                   f'fill="#a4161a">{escape(words)}</text>')
    out.append("</svg>")
    return "".join(out)
