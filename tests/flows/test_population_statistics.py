"""Statistics per place level on a hand-built city, and the HTML report built from them."""

from __future__ import annotations

import json
import re
from datetime import date

import polars as pl
import pytest
from tiny_city import TinyCity, days_before, local

from gridgate.analytics.key_group_alerts import AlertPolicy, key_group_alerts
from gridgate.analytics.population_statistics import (
    population_statistics,
    to_statistics,
    visitors_per_day,
)
from gridgate.analytics.statistics_report import render_report

DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def city() -> TinyCity:
    c = TinyCity()
    c.estate("E1", "G1")
    c.estate("E2", "G2")
    c.home("H1", "E1", area=30.0)  # cap 3
    c.home("H2", "E2", area=100.0)  # cap 10
    c.person("O1", home="H1")
    c.own("O1", "H1")
    c.person("F1", home="H1")
    c.grant("GR1", "H1", "F1", by="O1")  # family, registered here
    c.person("T1", home="H2")
    c.grant("GR2", "H1", "T1", by="O1", relation="tenant")  # tenant registered in E2: floating in E1
    c.person("T2")
    c.grant("GR3", "H1", "T2", by="O1", relation="tenant")  # tenant registered nowhere: floating
    c.person("O2", home="H2")
    c.own("O2", "H2")
    c.grant("GR-OLD", "H2", "X", by="O2", status="revoked")  # not counted
    c.passage(local(DAY, 7, 30), "O1", "E1", "out", home_id="H1")
    c.passage(local(DAY, 7, 45), "F1", "E1", "out", home_id="H1")
    c.passage(local(DAY, 18, 10), "O1", "E1", "in", home_id="H1")
    c.passage(local(DAY, 19, 0), "O2", "E2", "in", home_id="H2")
    c.passage(local(DAY, 19, 5), None, "E2", "in", outcome="deny")  # a stranger: not a passage
    c.visitor_pass("V1", "H2", "O2", local(DAY, 9))
    c.passage(local(DAY, 10, 0), "GUEST", "E2", "in", method="visitor_pass", pass_id="V1", home_id="H2")
    c.passage(local(DAY, 23, 50), "O2", "E2", "out", home_id="H2")
    c.visitor_pass("V0", "H2", "O2", local(date(2026, 11, 18), 9))
    c.passage(local(date(2026, 11, 18), 10), None, "E2", "in", method="visitor_pass", pass_id="V0", home_id="H2")
    return c


@pytest.fixture(scope="module")
def stats(city) -> pl.DataFrame:
    return population_statistics(city.frames(DAY, days_before(DAY, 7)[0]), DAY)


def value(stats: pl.DataFrame, scope: str, metric: str) -> float | None:
    hit = stats.filter((pl.col("scope") == scope) & (pl.col("metric") == metric))
    return hit["value"][0] if hit.height else None


def test_residents_by_role_registered_and_floating_per_level(stats):
    assert value(stats, "estate#E1", "residents.owners") == 1
    assert value(stats, "estate#E1", "residents.family") == 1
    assert value(stats, "estate#E1", "residents.tenants") == 2
    assert value(stats, "estate#E1", "residents.total") == 4
    assert value(stats, "estate#E1", "floating") == 2  # T1 (registered in E2) and T2 (nowhere)
    assert value(stats, "estate#E1", "registered") == 2
    assert value(stats, "grid#G1", "residents.total") == 4
    # one level up, T1's registered home is inside the same community: not floating there
    assert value(stats, "community#C1", "floating") == 1
    assert value(stats, "district#D1", "residents.total") == 5
    assert value(stats, "district#D1", "registered") == 4


def test_entries_and_exits_per_local_hour_and_visitors(stats):
    entries = stats.filter((pl.col("scope") == "estate#E1") & (pl.col("metric") == "entries")).row(0, named=True)
    assert entries["value"] == 1 and entries["series"][18] == 1 and sum(entries["series"]) == 1
    exits = stats.filter((pl.col("scope") == "estate#E1") & (pl.col("metric") == "exits")).row(0, named=True)
    assert exits["value"] == 2 and exits["series"][7] == 2
    district_entries = stats.filter((pl.col("scope") == "district#D1") & (pl.col("metric") == "entries")).row(
        0, named=True
    )
    assert district_entries["value"] == 3  # the denied stranger is not counted
    assert value(stats, "estate#E2", "visitors") == 1
    district_exits = stats.filter((pl.col("scope") == "district#D1") & (pl.col("metric") == "exits")).row(0, named=True)
    assert district_exits["series"][23] == 1  # 23:50 local is still the 20th


def test_occupancy_against_cap(stats):
    assert value(stats, "estate#E1", "grants.active") == 3
    assert value(stats, "estate#E1", "grants.cap") == 3
    assert value(stats, "estate#E1", "homes.at_cap") == 1
    assert value(stats, "estate#E1", "occupancy.ratio") == pytest.approx(1.0)
    assert value(stats, "estate#E2", "grants.active") == 0
    assert value(stats, "district#D1", "occupancy.ratio") == pytest.approx(3 / 13)


def test_statistics_map_to_table_rows(stats):
    rows = {(s.scope, s.metric): s for s in to_statistics(stats, DAY)}
    assert rows[("estate#E1", "exits")].series[7] == 2 and len(rows[("estate#E1", "exits")].series) == 24
    assert rows[("estate#E1", "floating")].series is None and rows[("estate#E1", "floating")].day == DAY


def test_report_is_self_contained_html_with_echarts_charts(city, stats):
    frames = city.frames(DAY, days_before(DAY, 7)[0])
    html = render_report(DAY, stats, visitors_per_day(frames), key_group_alerts(frames, AlertPolicy()))
    assert html.startswith("<!doctype html>")
    assert html.count('class="chart" data-chart=') == 3
    assert not re.search(r"""(src|href)=["']?https?://""", html), "the report must not fetch anything"
    assert "2026-11-20 每小时进出（北京时间）" in html and "D1" in html and '<html lang="zh-CN">' in html
    specs = json.loads(re.search(r'id="chart-specs">(.*?)</script>', html, re.S).group(1))
    # the visitors chart has one bar per day with visitors (18th and 20th)
    assert specs["visitors"]["categories"] == ["11-18", "11-20"] and specs["visitors"]["series"][0]["data"] == [1, 1]
    english = render_report(DAY, stats, visitors_per_day(frames), key_group_alerts(frames, AlertPolicy()), locale="en")
    assert "Entries and exits per hour, 2026-11-20 (Beijing time)" in english and '"name": "visitors"' in english
