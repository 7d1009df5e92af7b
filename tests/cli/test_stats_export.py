"""`gridgate stats export`: what the flows computed, to CSV or Parquet, filtered by day/level."""

from __future__ import annotations

import csv
from datetime import date

import pyarrow.parquet as pq

from gridgate.adapters.findings import StatisticRepository
from gridgate.domain.model import Statistic
from gridgate_cli.commands import app

DAY = date(2026, 11, 20)


def _seed_statistics() -> None:
    StatisticRepository().put_many(
        [
            Statistic("grid#G-1", DAY, "residents.owners", 12),
            Statistic("grid#G-1", DAY, "entries", 30, series=tuple(range(24))),
            Statistic("grid#G-2", DAY, "residents.owners", 7),
            Statistic("district#D-1", DAY, "residents.owners", 19),
            Statistic("grid#G-1", date(2026, 11, 19), "residents.owners", 11),
        ]
    )


def test_export_csv_for_one_day_and_level(runner, clean_tables, tmp_path):
    _seed_statistics()
    out = tmp_path / "stats.csv"
    result = runner.invoke(app, ["stats", "export", str(out), "--day", DAY.isoformat(), "--level", "grid"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert [(r["place_id"], r["metric"], float(r["value"])) for r in rows] == [
        ("G-1", "entries", 30.0),
        ("G-1", "residents.owners", 12.0),
        ("G-2", "residents.owners", 7.0),
    ]
    assert rows[0]["series"].split() == [str(v) for v in range(24)]


def test_export_parquet_everything(runner, clean_tables, tmp_path):
    _seed_statistics()
    out = tmp_path / "stats.parquet"
    result = runner.invoke(app, ["stats", "export", str(out)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == 5
    assert set(table.column("level").to_pylist()) == {"grid", "district"}


def test_bad_arguments_are_refused_with_a_message(runner, tmp_path):
    assert runner.invoke(app, ["stats", "export", str(tmp_path / "x.xlsx")]).exit_code == 1
    bad_day = runner.invoke(app, ["stats", "export", str(tmp_path / "x.csv"), "--day", "yesterday"])
    assert bad_day.exit_code == 1 and "不是日期" in bad_day.output


def test_csv_names_places_and_metrics_counts_whole_and_opens_in_excel(runner, clean_tables, tmp_path):
    from gridgate.adapters.repositories import PlaceRepository
    from gridgate.domain.model import Place, PlaceKind

    _seed_statistics()
    PlaceRepository().add(Place("G-1", PlaceKind.GRID, "湖南路第一网格", None, {}))
    out = tmp_path / "stats.csv"
    assert runner.invoke(app, ["stats", "export", str(out), "--day", DAY.isoformat(), "--level", "grid"]).exit_code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    first = rows[1]
    assert (first["place_name"], first["metric_name"], first["value"]) == ("湖南路第一网格", "业主", "12")
    assert rows[0]["series"].split()[:3] == ["0", "1", "2"] and rows[2]["place_name"] == ""
