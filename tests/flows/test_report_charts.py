"""The statistics report's chart specs: what ECharts is asked to draw (drawn and looked at in a
browser by tests/pages/test_statistics_report.py), the ratio named for what it is, and the data
handed to the page in a form no HTML parser can break out of."""

from __future__ import annotations

import json
import re
from datetime import date

import polars as pl

from gridgate.analytics.statistics_report import chart_specs, render_report
from gridgate.i18n import translator

DAY = date(2026, 11, 20)


def _stats() -> pl.DataFrame:
    rows = [
        {"level": "district", "place_id": "D1", "metric": "entries", "value": 3.0, "series": [1, 2] + [0] * 22},
        {"level": "district", "place_id": "D2", "metric": "entries", "value": 4.0, "series": [4] + [0] * 23},
        {"level": "estate", "place_id": "E1", "metric": "occupancy.ratio", "value": 0.333333, "series": None},
        {"level": "estate", "place_id": "E2", "metric": "occupancy.ratio", "value": 1.5, "series": None},
    ]
    return pl.DataFrame(rows, schema_overrides={"series": pl.List(pl.Int64)})


def test_the_specs_carry_catalogue_titles_place_names_and_whole_counts():
    visitors = pl.DataFrame({"local_date": [date(2026, 11, 18), DAY, DAY], "visitors": [1, 2, 3]})
    specs = chart_specs(DAY, _stats(), visitors, translator("zh_CN"), {"E2": "梅花山庄"})
    traffic = specs["traffic"]
    assert traffic["title"] == "2026-11-20 每小时进出（北京时间）" and len(traffic["categories"]) == 24
    assert traffic["series"][0] == {"name": "进入", "data": [5, 2] + [0] * 22}  # the districts added up
    assert specs["visitors"]["categories"] == ["11-18", "11-20"] and specs["visitors"]["series"][0]["data"] == [1, 5]
    grants = specs["grants_cap"]
    assert grants["categories"] == ["梅花山庄", "E1"]  # highest first; a name where one is known
    assert grants["series"][0]["data"] == [1.5, 0.33] and grants["fraction"] and grants["horizontal"]


def test_the_ratio_is_called_grants_over_cap_not_occupancy():
    for locale, name in (("zh_CN", "授权/上限"), ("en", "grants ÷ cap")):
        text = translator(locale)("metric.occupancy.ratio")
        assert text == name and not re.search("occupancy|入住率", text, re.IGNORECASE)


def test_the_report_inlines_echarts_and_its_specs_safely():
    hostile = {"E1": "</script><script>alert(1)</script>"}
    html = render_report(
        DAY, _stats(), pl.DataFrame({"local_date": [DAY], "visitors": [1]}), pl.DataFrame(), names=hostile
    )
    assert not re.search(r"""(src|href)=["']?https?://""", html), "the report must not fetch anything"
    assert "echarts" in html and "function chartOption(" in html
    assert "<script>alert(1)" not in html  # neither in the table (escaped) nor in the JSON block
    block = re.search(r'<script type="application/json" id="chart-specs">(.*?)</script>', html, re.S)
    assert json.loads(block.group(1))["grants_cap"]["categories"][1] == hostile["E1"]
    assert html.count('class="chart" data-chart=') == 3
