"""The tables an epidemic flow query answers with, computed from passages (pure, no storage).

Why passages only: a denied attempt is not a movement; an entry that opened the gate and a
recorded exit are. People are named by their person id (or a visitor's pass id), never by name
or phone: reaching them is the grid workers' job, through the roster's audited reads.

- `passage_rows`: who entered or left one estate in a window, in time order;
- `estates_visited` and `co_passages`: which estates a person entered, and who passed the same
  gate within ±N minutes of each of their passages;
- `daily_flows`: per city day, how many people moved from one estate (and grid) to another:
  a person's consecutive passages at two different estates are one movement, counted on the day
  of the second.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from gridgate.domain.model import AccessEvent, Direction, Outcome

_PASSAGES = (Outcome.OPEN, Outcome.RECORDED)


def passages(events: Iterable[AccessEvent]) -> list[AccessEvent]:
    """The events that are movements (an opened entry, a recorded exit), in time order."""
    return sorted((e for e in events if e.outcome in _PASSAGES), key=lambda e: (e.occurred_at, e.event_id))


def _who(event: AccessEvent) -> dict:
    return {"person_id": event.person_id, "pass_id": event.pass_id}


def passage_rows(events: Iterable[AccessEvent]) -> list[dict]:
    return [
        {
            "occurred_at": e.occurred_at.isoformat(),
            "direction": e.direction.value,
            "gate_id": e.gate_id,
            "method": e.method.value,
            **_who(e),
        }
        for e in passages(events)
    ]


def estates_visited(person_events: Iterable[AccessEvent], grid_of: Callable[[str], str | None]) -> list[dict]:
    """Per estate the person passed: entries, exits, first and last passage."""
    by_estate: dict[str, list[AccessEvent]] = defaultdict(list)
    for event in passages(person_events):
        by_estate[event.estate_id].append(event)
    return [
        {
            "estate_id": estate_id,
            "grid_id": grid_of(estate_id),
            "entries": sum(1 for e in seen if e.direction == Direction.IN),
            "exits": sum(1 for e in seen if e.direction == Direction.OUT),
            "first_at": seen[0].occurred_at.isoformat(),
            "last_at": seen[-1].occurred_at.isoformat(),
        }
        for estate_id, seen in sorted(by_estate.items())
    ]


def co_passages(
    person_id: str, person_events: Iterable[AccessEvent], gate_events: Iterable[AccessEvent], minutes: int
) -> list[dict]:
    """Others' passages at the gate of one of the person's passages, at most `minutes` apart.

    `gate_events` are the estates' passages around the person's (any gate): only the same gate
    and the time bound decide; the person's own passages are never co-passages."""
    window = timedelta(minutes=minutes)
    own = passages(person_events)
    rows = []
    for other in passages(gate_events):
        if other.person_id == person_id or (other.person_id is None and other.pass_id is None):
            continue
        near = [p for p in own if p.gate_id == other.gate_id and abs(other.occurred_at - p.occurred_at) <= window]
        if near:
            closest = min(near, key=lambda p: abs(other.occurred_at - p.occurred_at))
            rows.append(
                {
                    **_who(other),
                    "estate_id": other.estate_id,
                    "gate_id": other.gate_id,
                    "occurred_at": other.occurred_at.isoformat(),
                    "direction": other.direction.value,
                    "minutes_apart": round(abs(other.occurred_at - closest.occurred_at).total_seconds() / 60, 1),
                }
            )
    return rows


@dataclass(frozen=True)
class DailyFlows:
    #: per day and estate: entries, exits, distinct people
    estates: list[dict]
    #: per day, estate → estate movements (with each estate's grid): distinct people
    between_estates: list[dict]
    #: the same movements rolled up to grids (movements inside one grid included)
    between_grids: list[dict]

    def rows(self) -> int:
        return len(self.estates) + len(self.between_estates) + len(self.between_grids)


def daily_flows(
    events: Iterable[AccessEvent], grid_of: Callable[[str], str | None], local_date: Callable[[datetime], date]
) -> DailyFlows:
    moved = passages(events)
    people_at: dict[tuple[date, str], set[str]] = defaultdict(set)
    counts: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    for event in moved:
        key = (local_date(event.occurred_at), event.estate_id)
        counts[key][0 if event.direction == Direction.IN else 1] += 1
        if event.person_id:
            people_at[key].add(event.person_id)
    estate_movers: dict[tuple[date, str, str], set[str]] = defaultdict(set)
    grid_movers: dict[tuple[date, str | None, str | None], set[str]] = defaultdict(set)
    last_estate: dict[str, str] = {}
    for event in moved:
        if not event.person_id:
            continue
        before = last_estate.get(event.person_id)
        last_estate[event.person_id] = event.estate_id
        if before is not None and before != event.estate_id:
            day = local_date(event.occurred_at)
            estate_movers[(day, before, event.estate_id)].add(event.person_id)
            grid_movers[(day, grid_of(before), grid_of(event.estate_id))].add(event.person_id)
    return DailyFlows(
        estates=[
            {
                "day": day.isoformat(),
                "estate_id": estate,
                "grid_id": grid_of(estate),
                "entries": entries,
                "exits": exits,
                "people": len(people_at[(day, estate)]),
            }
            for (day, estate), (entries, exits) in sorted(counts.items())
        ],
        between_estates=[
            {
                "day": day.isoformat(),
                "from_estate": a,
                "from_grid": grid_of(a),
                "to_estate": b,
                "to_grid": grid_of(b),
                "people": len(people),
            }
            for (day, a, b), people in sorted(estate_movers.items())
        ],
        between_grids=[
            {"day": day.isoformat(), "from_grid": a, "to_grid": b, "people": len(people)}
            for (day, a, b), people in sorted(
                grid_movers.items(), key=lambda kv: (kv[0][0], str(kv[0][1]), str(kv[0][2]))
            )
        ],
    )


#: The columns of an exported passage list (the rows of `passage_rows`).
PASSAGE_COLUMNS = ("occurred_at", "direction", "gate_id", "method", "person_id", "pass_id")


def passages_csv(rows: list[dict]) -> str:
    """An export of `passage_rows` (only where the approval allows export)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=PASSAGE_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
