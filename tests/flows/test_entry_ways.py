"""How many people use which way in, per estate and day: face only, QR only, both (issue 18 point 2)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from tiny_city import TinyCity, days_before, local

from gridgate.analytics.population_statistics import population_statistics

DAY = date(2026, 11, 20)


def _ways(stats: pl.DataFrame, estate: str) -> dict[str, float]:
    rows = stats.filter((pl.col("scope") == f"estate#{estate}") & pl.col("metric").str.starts_with("entry_ways."))
    return dict(zip(rows["metric"], rows["value"], strict=True))


def test_people_are_counted_once_per_estate_by_the_ways_they_came_in():
    c = TinyCity()
    c.estate("E1", "G1")
    c.estate("E2", "G2")
    for person in ("FACE", "QR", "BOTH", "QR2"):
        c.person(person)
    c.passage(local(DAY, 8), "FACE", "E1", "in")
    c.passage(local(DAY, 19), "FACE", "E1", "in")  # twice by face: still one person by face
    c.passage(local(DAY, 9), "QR", "E1", "in", method="resident_qr")
    c.passage(local(DAY, 8), "BOTH", "E1", "in")
    c.passage(local(DAY, 18), "BOTH", "E1", "in", method="resident_qr")
    c.passage(local(DAY, 7), "BOTH", "E1", "out", method="resident_qr")  # an exit is no way in
    c.passage(local(DAY, 10), "QR2", "E1", "in", method="resident_qr", outcome="deny")  # refused: not in
    c.passage(local(DAY, 11), "QR2", "E2", "in", method="resident_qr")
    c.passage(local(DAY, 12), "GUEST", "E2", "in", method="visitor_pass", pass_id="V1")  # a visitor: no resident way
    c.passage(local(DAY + timedelta(days=1), 1), "FACE", "E2", "in")  # the next day
    c.passage(local(DAY - timedelta(days=1), 23), "FACE", "E2", "in", method="resident_qr")  # the day before
    stats = population_statistics(c.frames(DAY, days_before(DAY, 7)[0]), DAY)
    assert _ways(stats, "E1") == {"entry_ways.face": 1.0, "entry_ways.qr": 1.0, "entry_ways.both": 1.0}
    assert _ways(stats, "E2") == {"entry_ways.face": 0.0, "entry_ways.qr": 1.0, "entry_ways.both": 0.0}
