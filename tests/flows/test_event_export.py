"""The bulk path out of DynamoDB: a native table export becomes exactly one day's Parquet partition.

Why: the nightly flows must not read the events table item by item; they rely on
`event_export.export_event_days` producing the same rows the table holds for that UTC day —
no event of a neighbouring day, nulls kept, instants exact — and on a re-run changing nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from gridgate.adapters import event_export
from gridgate.adapters import parquet_exports as snapshots
from gridgate.adapters.events import EventRepository
from gridgate.config import get_settings
from gridgate.domain.model import AccessEvent, AccessMethod, Direction, Outcome, Registry

DAY = date(2020, 2, 29)  # a day no other test writes events for


def _event(estate: str, at: datetime, n: int, person: str | None) -> AccessEvent:
    return AccessEvent(
        event_id=f"{estate}-G1:{n:06d}",
        gate_id=f"{estate}-G1",
        estate_id=estate,
        direction=Direction.OUT,
        occurred_at=at,
        method=AccessMethod.FACE,
        outcome=Outcome.OPEN,
        reason="resident_right",
        person_id=person,
        home_id=None,
        registry=Registry.APP if person else None,
        score=0.25 if person else None,
        right="owner" if person else None,
    )


def test_native_export_writes_exactly_the_days_events(moto_server, tmp_path):
    settings = get_settings()
    estate = f"E-x{uuid.uuid4().hex[:6]}"
    midnight = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    inside = [
        _event(estate, midnight, 1, "P-x1"),
        _event(estate, midnight + timedelta(hours=13, microseconds=123_000), 2, None),
        _event(estate, midnight + timedelta(days=1) - timedelta(milliseconds=1), 3, "P-x2"),
    ]
    outside = [
        _event(estate, midnight - timedelta(milliseconds=1), 4, "P-x1"),
        _event(estate, midnight + timedelta(days=1), 5, "P-x1"),
    ]
    repository = EventRepository()
    for event in inside + outside:
        repository.append(event)

    def exported() -> list[dict]:
        table = snapshots.read_events(DAY, DAY, settings)
        rows = [r for r in table.to_pylist() if r["estate_id"] == estate]
        return sorted(rows, key=lambda r: r["event_id"])

    now = midnight + timedelta(days=1, hours=1)  # the night after DAY
    written = event_export.export_event_days([DAY], settings, tmp_path, now)
    assert written == {DAY: f"s3://{settings.bucket}/{snapshots.events_prefix(DAY)}"}
    rows = exported()
    assert [r["event_id"] for r in rows] == [e.event_id for e in inside]
    assert [r["occurred_at"] for r in rows] == [e.occurred_at for e in inside]
    assert [r["person_id"] for r in rows] == ["P-x1", None, "P-x2"]
    assert [r["score"] for r in rows] == [0.25, None, 0.25]
    assert rows[1]["home_id"] is None and rows[0]["direction"] == "out"
    # stored as every events file is (`event_files`): by estate, then person (unknown last), then time
    stored = [r for r in snapshots.read_events(DAY, DAY, settings).to_pylist() if r["estate_id"] == estate]
    assert [r["event_id"] for r in stored] == [inside[0].event_id, inside[2].event_id, inside[1].event_id]

    event_export.export_event_days([DAY], settings, tmp_path, now)  # a re-run: the same partition
    assert exported() == rows
    assert not list(tmp_path.iterdir()), "the export's local files are removed"


def test_write_windows_respect_the_24_hour_limit():
    start = datetime(2026, 11, 20, tzinfo=UTC)
    now = start + timedelta(days=2, hours=1, minutes=30)
    windows = event_export.write_windows(start, now)
    assert [b - a for a, b in windows] == [timedelta(hours=24), timedelta(hours=24), timedelta(hours=1, minutes=30)]
    assert windows[0][0] == start and windows[-1][1] == now
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:]))
