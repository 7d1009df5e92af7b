"""The nightly statistics report as staff see it: the file opened in Chromium at phone and
desktop width, its three charts drawn by Apache ECharts (inlined, nothing fetched), axes at round
numbers, Chinese titles and place names that render, nothing wider than the screen."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from gridgate.analytics.statistics_report import render_report

from .conftest import assert_glyphs_render, screenshot

DAY = date(2026, 11, 20)
_HOURS = [0] * 7 + [40, 130, 60] + [20] * 8 + [90, 150, 70, 30, 10, 5]


def _stats() -> pl.DataFrame:
    """Two districts and two estates, the shape `population_statistics` returns."""
    rows = []

    def add(level: str, place: str, metric: str, value: float, series: list[int] | None = None) -> None:
        rows.append({"level": level, "place_id": place, "metric": metric, "value": value, "series": series})

    for place, scale in (("D-01", 1), ("D-02", 2)):
        for metric, value in (("residents.owners", 120), ("residents.family", 80), ("residents.tenants", 35)):
            add("district", place, metric, value * scale)
        add("district", place, "entries", sum(_HOURS) * scale, [h * scale for h in _HOURS])
        add("district", place, "exits", sum(_HOURS) * scale, [h * scale for h in reversed(_HOURS)])
        add("district", place, "grants.active", 41 * scale)
        add("district", place, "grants.cap", 60 * scale)
    for place, ratio in (("E-0001", 1.2), ("E-0002", 0.45)):
        add("estate", place, "occupancy.ratio", ratio)
    return pl.DataFrame(rows, schema_overrides={"series": pl.List(pl.Int64)})


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    visitors = pl.DataFrame({"local_date": [date(2026, 11, 18), DAY], "visitors": [3, 12]})
    names = {"D-01": "玄武区", "D-02": "秦淮区", "E-0001": "梅花山庄", "E-0002": "龙江小区"}
    alerts = pl.DataFrame(
        {
            "finding_type": ["living_alone_no_exit"],
            "grid_id": ["D-01-S1-C1-G1"],
            "home_id": ["H-0001-1302"],
            "evidence": ['{"age": 75, "days_without_exit": 7, "no_exit_days": 3}'],
            "explanation": ["75-year-old living alone, no exit for 7 days (over 3): please visit."],
        }
    )
    html = render_report(DAY, _stats(), visitors, alerts, names=names)
    path = tmp_path_factory.mktemp("report") / f"{DAY}.html"
    path.write_text(html, encoding="utf-8")
    return path


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_the_report_draws_its_charts_with_echarts_at_any_width(request, viewport, report_file):
    page = request.getfixturevalue(viewport)
    fetched = []
    page.on("request", lambda r: fetched.append(r.url) if not r.url.startswith("file:") else None)
    page.goto(report_file.as_uri())
    page.wait_for_selector(".chart[data-chart] svg")
    assert fetched == []  # everything it needs is inside the file
    assert page.locator(".chart svg").count() == 3
    assert page.evaluate("[...document.querySelectorAll('.chart')].every((box) => echarts.getInstanceByDom(box))")
    texts = page.locator("[data-chart=traffic] svg text").all_text_contents()
    assert "2026-11-20 每小时进出（北京时间）" in texts and "进入" in texts and "外出" in texts
    ticks = page.evaluate(
        "echarts.getInstanceByDom(document.querySelector('[data-chart=traffic]'))"
        ".getModel().getComponent('yAxis').axis.scale.getTicks().map((tick) => tick.value)"
    )
    assert {str(tick) for tick in ticks} <= set(texts)  # drawn, not only computed
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0 and ticks[-1] >= 300 and all(b - a == step for a, b in zip(ticks, ticks[1:])), ticks
    assert str(step)[0] in "125" and set(str(step)[1:]) <= {"0"}, ticks  # round: 1, 2, 5 × 10^n
    estates = page.locator("[data-chart=grants_cap] svg text").all_text_contents()
    assert "梅花山庄" in estates and "龙江小区" in estates  # names, not codes
    assert "玄武区" in page.locator("table").first.inner_text()
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing cut off or sideways
    assert page.evaluate(
        f"[...document.querySelectorAll('.chart svg')].every((s) => s.getBoundingClientRect().right <= {width})"
    )
    assert_glyphs_render(page, "h1, h2, .card, th, td, .chart svg text")
    screenshot(page, "statistics-report")
