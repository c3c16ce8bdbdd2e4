"""The symptom chart: pure, accessible, self-contained SVG."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ElementTree

from followups.desk.charts import SYMPTOMS, chart_description, symptom_chart_svg

SVG = "{http://www.w3.org/2000/svg}"


def series(**overrides):
    data = {symptom: {0: 0, 2: 1, 7: 0} for symptom in SYMPTOMS}
    data.update(overrides)
    return data


def test_it_is_well_formed_svg_with_a_title_and_a_description():
    svg = symptom_chart_svg(series=series(rash={0: 0, 2: 3, 7: 1}), chart_id="c1",
                            title="Symptoms after the session of 1 Mar 2026")

    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "Symptoms after the session of 1 Mar 2026"
    assert "Rash: day 0 none, day 2 severe, day 7 mild." in root.find(f"{SVG}desc").text


def test_it_loads_nothing_from_elsewhere():
    svg = symptom_chart_svg(series=series(), chart_id="c")

    assert "<script" not in svg and "href" not in svg and "@import" not in svg
    assert re.findall(r"https?://[^\"']+", svg) == ["http://www.w3.org/2000/svg"]


def test_it_escapes_text():
    svg = symptom_chart_svg(series=series(), chart_id='x" onload="alert(1)',
                            title="<script>alert(1)</script>")

    assert "<script>" not in svg and 'onload="' not in svg
    ElementTree.fromstring(svg)


def test_it_gives_each_symptom_a_shape_and_a_dash_not_only_a_colour():
    root = ElementTree.fromstring(symptom_chart_svg(series=series(), chart_id="c"))
    groups = [g for g in root.iter(f"{SVG}g") if "series" in (g.get("class") or "")]

    dashes = {g.find(f"{SVG}polyline").get("stroke-dasharray") for g in groups}
    markers = {(g[1].tag, len((g[1].get("points") or "").split())) for g in groups}
    assert len(groups) == 5
    assert len(dashes) == 5  # solid, and four different dash patterns
    assert len(markers) == 5  # circle, square, triangle, diamond, cross


def test_it_draws_a_day_not_answered_as_a_gap_not_a_zero():
    svg = symptom_chart_svg(series=series(rash={0: 0, 2: None, 7: 2}), chart_id="c")
    root = ElementTree.fromstring(svg)
    rash = next(g for g in root.iter(f"{SVG}g") if "series-rash" in g.get("class"))

    assert rash.find(f"{SVG}polyline") is None  # no line across the missing day
    assert "day 2 not answered" in chart_description(series(rash={0: 0, 2: None, 7: 2}),
                                                     (0, 2, 7))
    tips = [t.text for t in rash.iter(f"{SVG}title")]
    assert tips == ["Rash, day 0: none", "Rash, day 7: moderate"]


def test_it_draws_higher_severity_higher_and_days_to_scale():
    svg = symptom_chart_svg(series=series(pain={0: 0, 2: 4, 7: 2}), chart_id="c")
    root = ElementTree.fromstring(svg)
    pain = next(g for g in root.iter(f"{SVG}g") if "series-pain" in g.get("class"))
    points = [tuple(map(float, p.split(",")))
              for p in pain.find(f"{SVG}polyline").get("points").split()]

    ys = [y for _, y in points]
    xs = [x for x, _ in points]
    assert ys[1] < ys[2] < ys[0]  # SVG y grows downwards
    assert xs[0] < xs[1] < xs[2]
    # Day 2 sits at 2/7 of the way from day 0 to day 7.
    assert abs((xs[1] - xs[0]) / (xs[2] - xs[0]) - 2 / 7) < 0.01


def test_the_symptom_lines_at_none_stay_apart_and_clear_of_the_axis_word():
    from followups.desk.charts import LEFT, symptom_chart_svg

    svg = symptom_chart_svg(series={name: {0: 0, 2: 0, 7: 0} for name in
                                    ("rash", "breakouts", "itching", "swelling", "pain")},
                            chart_id="c")

    lines = re.findall(r'<polyline points="([^"]+)"', svg)
    assert len(set(lines)) == 5  # five distinct lines, none hidden under another
    first_xs = [float(points.split()[0].split(",")[0]) for points in lines]
    assert min(first_xs) - 7 > LEFT - 8  # the first marker ends right of "none"


def test_the_dashboard_draws_the_last_30_days_with_a_summary_in_words(staff_client, own_world):
    html = staff_client.get("/admin/").content.decode()

    assert 'class="activity-chart"' in html and "<svg" in html
    summary = re.search(r'<p class="activity-summary">([^<]+)</p>', html).group(1)
    assert "3 flagged urgent" in summary
    assert "check-ins sent" in summary


def test_the_activity_charts_day_labels_never_overlap():
    from datetime import date, timedelta

    from followups.desk.charts import A_WIDTH, activity_chart_svg

    days = [date(2026, 3, 10) - timedelta(days=back) for back in range(29, -1, -1)]
    svg = activity_chart_svg(days=days, counts={key: [1] * 30 for key in
                                                ("sent", "answered", "review", "urgent")},
                             chart_id="a",
                             title="t", description="d")

    positions = sorted(float(x) for x, text in re.findall(
        r'<text x="([\d.]+)" y="[\d.]+" text-anchor="middle" fill="#333">([^<]+)</text>', svg))
    assert len(positions) == 5  # weekly, and the last day; the label next to it gives way
    # A label is about 40 px wide at 11 px: no two closer than that.
    assert min(b - a for a, b in itertools.pairwise(positions)) > 40
    assert positions[-1] < A_WIDTH


def test_the_bars_say_their_values_in_words_and_draw_the_deadline():
    from followups.desk.charts import bars_svg

    svg = bars_svg(rows=[("First call, median", 30.0, "30 min"), ("Resolved", None, "–")],
                   maximum=180, chart_id="t", title="Time <to> act", description="30 min",
                   target=(120, "urgent deadline, 120 min"))

    root = ElementTree.fromstring(svg)
    assert root.find("{http://www.w3.org/2000/svg}title").text == "Time <to> act"
    assert svg.count("<rect") == 2  # the background and one bar: no bar for no value
    assert "30 min" in svg and "urgent deadline, 120 min" in svg
