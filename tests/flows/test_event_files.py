"""Every access-events file is laid out one way: visitor-pass events last, each run by estate,
then person, then time, ids plain.

Why: the nightly questions group a week of events by person (docs/flows.md, "Reading the city
in bulk"); the layout is what made them fast, so every writer — the native export's
conversion, a day written by tools, the live day — must produce it, and none may lose, add or
change a row on the way.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from gridgate.adapters import parquet_exports as snapshots
from gridgate.adapters.event_files import EVENT_ROW_ORDER
from gridgate.config import get_settings
from gridgate.domain.model import AccessMethod
from local_emulator import city_tables
from local_emulator.synthetic_city import build_city

TODAY = date(2026, 11, 24)


def _day_events() -> pa.Table:
    city = build_city(300, seed=5, history_days=2, today=TODAY)
    return city_tables.events_table(city, city.event_days[-2])


def _in_row_order(rows: list[dict]) -> bool:
    def key(row: dict) -> tuple:
        columns = tuple((row[c] is None, row[c] or "") if c != "occurred_at" else row[c] for c in EVENT_ROW_ORDER)
        return (row["method"] == "visitor_pass", *columns)

    return all(key(a) <= key(b) for a, b in zip(rows, rows[1:], strict=False))


def _plain_rows(table: pa.Table) -> list[dict]:
    columns = {
        name: (column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column)
        for name, column in zip(table.column_names, table.columns, strict=True)
    }
    return pa.table(columns).to_pylist()


def test_a_local_events_file_is_sorted_and_keeps_every_row(tmp_path):
    events = _day_events()
    assert events.num_rows > 500 and not _in_row_order(events.to_pylist())  # the city writes them by time
    path = snapshots.write_local_events(events, tmp_path / "live=2026-11-23" / "run.parquet")
    written = pq.read_table(path)
    assert [p.name for p in (tmp_path / "live=2026-11-23").iterdir()] == ["run.parquet"]  # no sort spill left
    rows = written.to_pylist()
    assert _in_row_order(rows)
    visitors = [i for i, row in enumerate(rows) if row["method"] == "visitor_pass"]
    assert visitors and visitors == list(range(len(rows) - len(visitors), len(rows)))  # one run, at the end
    assert sorted(rows, key=lambda r: r["event_id"]) == sorted(_plain_rows(events), key=lambda r: r["event_id"])
    # ids are stored as values, not as a Parquet dictionary of every person
    metadata = pq.ParquetFile(path).metadata
    person = next(i for i in range(metadata.num_columns) if metadata.schema.column(i).name == "person_id")
    assert all(not pa.types.is_dictionary(written.schema.field(n).type) for n in ("person_id", "home_id"))
    assert metadata.row_group(0).column(person).statistics.has_min_max


def test_a_day_written_to_s3_reads_back_in_the_same_order(moto_server):
    settings = get_settings()
    events = _day_events()
    day = date(2019, 7, 1)  # a day no other test writes events for
    snapshots.write_events_day(day, events, settings)
    back = snapshots.read_events(day, day, settings)
    assert back.num_rows == events.num_rows
    assert back["occurred_at"].type == pa.timestamp("ms", tz="UTC")
    assert _in_row_order(_plain_rows(back))


def test_visitor_passes_sort_after_every_other_method():
    """The layout's row-group skipping for visitor-pass questions rests on this: a row group of
    other events has a largest method below ``visitor_pass`` (a method added after it in the
    alphabet would make those questions read every row group again)."""
    others = [method.value for method in AccessMethod if method is not AccessMethod.VISITOR_PASS]
    assert max(others) < AccessMethod.VISITOR_PASS.value
