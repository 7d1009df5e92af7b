"""Export the statistics table for data-center staff: CSV for spreadsheets, Parquet for analysis.

One row per (scope, day, metric); hourly metrics carry their 24 values as ``series``. The table
is read with a parallel scan (the whole table is wanted), filtered by day and level on the way.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Callable, Iterable

from gridgate.adapters.findings import parallel_scan, statistic_from_item
from gridgate.adapters.tables import StatisticTable
from gridgate.domain.model import Statistic

COLUMNS = ("level", "place_id", "day", "metric", "value", "series")


def read_statistics(day: date | None = None, level: str | None = None) -> list[Statistic]:
    condition = None
    if day is not None:
        condition = StatisticTable.sk.startswith(f"{day.isoformat()}#")
    if level is not None:
        by_level = StatisticTable.scope.startswith(f"{level}#")
        condition = by_level if condition is None else condition & by_level
    stats = [statistic_from_item(item) for item in parallel_scan(StatisticTable, condition)]
    return sorted(stats, key=lambda s: (s.scope, s.day, s.metric))


def _row(stat: Statistic) -> dict:
    level, _, place_id = stat.scope.partition("#")
    series = " ".join(str(v) for v in stat.series) if stat.series else ""
    return {"level": level, "place_id": place_id, "day": stat.day.isoformat(), "metric": stat.metric,
            "value": stat.value, "series": series}


def write_statistics(
    stats: Iterable[Statistic], out: Path, on_row: Callable[[], None] | None = None
) -> int:
    """Write `stats` to `out` (``.csv`` or ``.parquet`` by suffix); returns the row count."""
    rows = []
    for stat in stats:
        rows.append(_row(stat))
        if on_row:
            on_row()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([(name, pa.float64() if name == "value" else pa.string()) for name in COLUMNS])
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), out)
    elif out.suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    else:
        raise ValueError(f"unsupported output {out.name!r}: use .csv or .parquet")
    return len(rows)
