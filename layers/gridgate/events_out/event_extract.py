"""An export of access events, findings or alerts for a time range, as Parquet or CSV, scoped
like a webhook.

What Kisi's event exports give a property company: every passage at its estates between two
instants, one row per event, with exactly the fields its scope allows (`event_scope.event_record`:
a property company gets per-company person pseudonyms, no pass ids, scores or registries).
Times are labelled in the column names: ``occurred_at_utc`` (ISO, Z) and ``occurred_at_local``
(the city's civil time, +08:00); the range is half-open, [start, end), and at most
``event_export_max_days`` long. Events are read per estate and UTC day with the table's keys
(one query per write shard), never by scanning the table. An export names its estates (a
property company's default to its token's); the whole city's events of a day are the nightly
Parquet snapshot the flows already write (docs/flows.md), not an API answer.

Findings and alerts (`scoped_finding_rows`): those first detected in [start, end), in the places
of the scope, of the kind asked for and only if the scope may receive it (`Scope.may_receive`);
read per grid with the findings table's `by_grid` index, the grids being those under the scope's
places (`finding_places.grids_under`). Columns: `finding_records.finding_columns`, with the
facts as JSON text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from gridgate.adapters.events import EventRepository
from gridgate.adapters.finding_places import grids_under
from gridgate.adapters.findings import FindingRepository
from gridgate.config import Settings, get_settings
from gridgate.events_out.event_scope import ACCESS, CITY, Scope, event_record, kind_of_finding
from gridgate.events_out.finding_records import finding_record, places_of
from gridgate.i18n import DEFAULT_LOCALE, translator
from gridgate.refusals import Invalid, NotAllowed
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
        raise Invalid("bad_range", reason="no_offset", field="from" if start.tzinfo is None else "to")
    if not start < end:
        raise Invalid("bad_range", reason="order", field="to")
    if end - start > timedelta(days=settings.event_export_max_days):
        raise Invalid("bad_range", reason="too_long", field="to", days=settings.event_export_max_days)


def scoped_rows(
    scope: Scope, start: datetime, end: datetime, protector: IdentifierProtector, settings: Settings | None = None
) -> list[dict]:
    """The events in [start, end) at the estates of `scope`, in time order, as `scope` may see them."""
    settings = settings or get_settings()
    check_range(start, end, settings)
    _check_kind(scope, ACCESS)
    estates = _named_places(scope)
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


def _check_kind(scope: Scope, kind: str) -> None:
    """The export's own check of the rules (the CLI builds its scope without `scope_for`)."""
    if kind not in scope.rule.kinds or kind not in scope.kinds:
        raise NotAllowed("kind_not_allowed", kinds=[kind])


def _named_places(scope: Scope) -> frozenset[str]:
    if not scope.places:
        raise Invalid("estate_ids_required")
    return scope.places


def scoped_finding_rows(
    scope: Scope,
    kind: str,
    start: datetime,
    end: datetime,
    protector: IdentifierProtector,
    settings: Settings | None = None,
) -> list[dict]:
    """The findings (`kind` "finding") or alerts ("alert") first detected in [start, end) in the
    places of `scope`, in time order, as `scope` may see them (facts as JSON text)."""
    settings = settings or get_settings()
    check_range(start, end, settings)
    _check_kind(scope, kind)
    repository = FindingRepository()
    found = [
        f
        for grid in sorted(grids_under(_named_places(scope)))
        for f in repository.in_grid(grid)
        if start <= f.detected_at < end
        and kind_of_finding(f.finding_type) == kind
        and scope.may_receive(kind, f.finding_type)
    ]
    found.sort(key=lambda f: (f.detected_at, f.finding_id))
    places = places_of(found)
    t, zone = translator(DEFAULT_LOCALE), ZoneInfo(settings.city_timezone)
    rows = []
    for finding in found:
        if scope.covers_place(places[finding.finding_id]):
            row = finding_record(finding, places[finding.finding_id], scope, protector, t, zone)
            rows.append({**row, "facts": json.dumps(row["facts"], ensure_ascii=False, sort_keys=True, default=str)})
    return rows


def render_csv(rows: list[dict], columns: Sequence[str]) -> str:
    """`rows` as CSV text, with a BOM so a spreadsheet reads it as UTF-8 (Parquet is written by
    `gridgate.analytics.event_parquet`: pyarrow is not in the API's zip)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return "\ufeff" + out.getvalue()


def event_record_columns(scope: Scope) -> list[str]:
    """The columns of `scope`'s rows, in `COLUMNS` order (an export with no events still has them)."""
    private = {"person_id", "pass_id", "registry", "score"}
    return [c for c in COLUMNS if (c not in private if scope.kind != CITY else c != "person_ref")]
