"""Export the statistics table for data-center staff: CSV for spreadsheets, Parquet for analysis.

One row per (scope, day, metric); hourly metrics carry their 24 values as ``series``. The table
is read with a parallel scan (the whole table is wanted), filtered by day and level on the way.

Rows name the place (``place_name``, from the place table) and the metric in the staff's language
(``metric_name``) beside the ids; counts are written as whole numbers (only ratios keep their
decimals). The CSV is UTF-8 with a byte-order mark: without it Excel on a Chinese Windows reads
the names as GBK and shows mojibake. Column keys stay stable (English) for scripts.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

from gridgate.adapters.findings import StatisticRepository
from gridgate.domain.model import Statistic

COLUMNS = ("level", "place_id", "place_name", "day", "metric", "metric_name", "value", "series")


def read_statistics(
    day: date | None = None, level: str | None = None, *, statistics: StatisticRepository | None = None
) -> list[Statistic]:
    stats = (statistics or StatisticRepository()).scan(day, level)
    return sorted(stats, key=lambda s: (s.scope, s.day, s.metric))


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _row(stat: Statistic, names: dict[str, str], t) -> dict:
    level, _, place_id = stat.scope.partition("#")
    series = " ".join(str(_number(v)) for v in stat.series) if stat.series else ""
    return {
        "level": level,
        "place_id": place_id,
        "place_name": names.get(place_id, ""),
        "day": stat.day.isoformat(),
        "metric": stat.metric,
        "metric_name": t.get(f"metric.{stat.metric}", stat.metric),
        "value": _number(stat.value),
        "series": series,
    }


def _place_names(stats: list[Statistic]) -> dict[str, str]:
    from gridgate.adapters.overview_queries import places_by_id

    ids = {stat.scope.partition("#")[2] for stat in stats}
    return {place_id: place.name for place_id, place in places_by_id(ids).items()}


def write_statistics(
    stats: Iterable[Statistic], out: Path, on_row: Callable[[], None] | None = None, locale: str | None = None
) -> int:
    """Write `stats` to `out` (``.csv`` or ``.parquet`` by suffix); returns the row count."""
    from gridgate.i18n import translator

    stats = list(stats)
    names, t = _place_names(stats), translator(locale)
    rows = []
    for stat in stats:
        rows.append(_row(stat, names, t))
        if on_row:
            on_row()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([(name, pa.float64() if name == "value" else pa.string()) for name in COLUMNS])
        rows = [{**row, "value": float(row["value"])} for row in rows]
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), out)
    elif out.suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    else:
        raise ValueError(f"unsupported output {out.name!r}: use .csv or .parquet")
    return len(rows)
