"""An export of access events for a time range, as Parquet or CSV, scoped like a webhook.

What Kisi's event exports give a property company: every passage at its estates between two
instants, one row per event, with exactly the fields its scope allows (`event_scope.event_record`:
a property company gets per-company person pseudonyms, no pass ids, scores or registries).
Times are labelled in the column names: ``occurred_at_utc`` (ISO, Z) and ``occurred_at_local``
(the city's civil time, +08:00); the range is half-open, [start, end), and at most
``event_export_max_days`` long. Events are read per estate and UTC day with the table's keys
(one query per write shard), never by scanning the table. An export names its estates (a
property company's default to its token's); the whole city's events of a day are the nightly
Parquet snapshot the flows already write (docs/flows.md), not an API answer.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from gridgate.adapters.events import EventRepository
from gridgate.config import Settings, get_settings
from gridgate.events_out.event_scope import CITY, Scope, event_record
from gridgate.refusals import Invalid
from gridgate.security.identifiers import IdentifierProtector

#: Parquet goes out as octet-stream: the API's binary media type (API Gateway base64-encodes only
#: those), so a client asks with ``Accept: application/octet-stream``.
#: Every column a scope may have (a scope keeps its own subset); all text but the match score.
COLUMNS = (
    "event_id",
    "occurred_at_utc",
    "occurred_at_local",
    "estate_id",
    "gate_id",
    "direction",
    "method",
    "outcome",
    "reason",
    "right",
    "home_id",
    "person_ref",
    "person_id",
    "pass_id",
    "registry",
    "score",
)


def check_range(start: datetime, end: datetime, settings: Settings) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("bad_range", "from and to need a UTC offset (e.g. 2026-12-01T00:00:00+08:00)")
    if not start < end:
        raise Invalid("bad_range", "from must be before to")
    if end - start > timedelta(days=settings.event_export_max_days):
        raise Invalid("bad_range", f"at most {settings.event_export_max_days} days per export")


def scoped_rows(
    scope: Scope, start: datetime, end: datetime, protector: IdentifierProtector, settings: Settings | None = None
) -> list[dict]:
    """The events in [start, end) at the estates of `scope`, in time order, as `scope` may see them."""
    settings = settings or get_settings()
    check_range(start, end, settings)
    if not scope.estate_ids:
        raise Invalid(
            "estate_ids_required",
            "name the estates to export (estate_ids); the whole city's events are in the nightly Parquet snapshots",
        )
    estates = scope.estate_ids
    repository = EventRepository(settings)
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    events = [
        e
        for estate in sorted(estates)
        for day in days
        for e in repository.for_estate_day(estate, day)
        if start <= e.occurred_at < end
    ]
    events.sort(key=lambda e: (e.occurred_at, e.event_id))
    zone = ZoneInfo(settings.city_timezone)
    return [event_record(e, scope, protector, zone) for e in events]


def render_csv(rows: list[dict], scope: Scope) -> str:
    """`rows` as CSV text, with a BOM so a spreadsheet reads it as UTF-8 (Parquet is written by
    `gridgate.analytics.event_parquet`: pyarrow is not in the API's zip)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=event_record_columns(scope), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return "\ufeff" + out.getvalue()


def event_record_columns(scope: Scope) -> list[str]:
    """The columns of `scope`'s rows, in `COLUMNS` order (an export with no events still has them)."""
    private = {"person_id", "pass_id", "registry", "score"}
    return [c for c in COLUMNS if (c not in private if scope.kind != CITY else c != "person_ref")]
