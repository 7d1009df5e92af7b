"""Every question the nightly checks, statistics and alerts ask of the access events, as SQL.

One definition per question, declarative and engine-neutral: DuckDB runs it embedded over the
day-partitioned Parquet, Spark runs the very same text when the city outgrows one machine
(`gridgate.adapters.sql_engines`). Each answer is small — one row per person, home, estate-hour
or day — so the checks in `reconciliation`, `key_group_alerts` and `population_statistics` join
it with the registries and phrase the findings, while the events themselves never enter the
flow process.

Conventions: ``events`` is the run's window of events; ``subjects`` (when a query names it) is a
small table of the persons it is about; ``LOCAL(col)`` is an instant in the city's civil time;
``{since}``, ``{start}``, ``{end}`` are UTC instants and ``{min_days}`` an integer, filled in by
`event_query` from typed arguments only (never from user text).
"""

from __future__ import annotations

from datetime import datetime
from typing import Mapping

import polars as pl

#: Per registered person: did they pass a gate of their home estate since `since`, and where
#: were they last seen at all (the hint that they moved). `subjects`: person_id, estate_id.
PRESENCE = """
SELECT e.person_id,
       MAX(e.occurred_at) AS last_seen_at,
       MAX_BY(e.estate_id, e.occurred_at) AS last_seen_estate,
       MAX(CASE WHEN e.estate_id = s.estate_id THEN 1 ELSE 0 END) AS seen_at_home
FROM events e JOIN subjects s ON e.person_id = s.person_id
WHERE e.occurred_at >= {since}
GROUP BY e.person_id
"""

#: Identified people let in on a visitor pass since `since`, with the local day of each entry.
VISITOR_ENTRIES = """
SELECT person_id, home_id, pass_id, CAST(LOCAL(occurred_at) AS DATE) AS entry_day
FROM events
WHERE occurred_at >= {since}
  AND method = 'visitor_pass' AND direction = 'in' AND outcome = 'open' AND person_id IS NOT NULL
"""

#: (home, person) pairs entering for a home on at least `min_days` local days since `since`.
HOME_ENTRY_DAYS = """
SELECT home_id, person_id, COUNT(DISTINCT CAST(LOCAL(occurred_at) AS DATE)) AS days
FROM events
WHERE occurred_at >= {since}
  AND direction = 'in' AND person_id IS NOT NULL AND home_id IS NOT NULL
GROUP BY home_id, person_id
HAVING COUNT(DISTINCT CAST(LOCAL(occurred_at) AS DATE)) >= {min_days}
"""

#: The last exit of each subject in the window.
LAST_EXIT = """
SELECT person_id, MAX(occurred_at) AS last_exit_at
FROM events
WHERE direction = 'out' AND person_id IN (SELECT person_id FROM subjects)
GROUP BY person_id
"""

#: The last passage of each subject in the window, and which way and through which gate it went.
LAST_PASSAGE = """
SELECT person_id,
       MAX(occurred_at) AS last_passage_at,
       MAX_BY(direction, occurred_at) AS last_direction,
       MAX_BY(gate_id, occurred_at) AS last_gate_id
FROM events
WHERE person_id IN (SELECT person_id FROM subjects)
GROUP BY person_id
"""

#: Each passage of a subject since `since` during the unusual hours [{hour_from}, {hour_to}).
UNUSUAL_HOUR_PASSAGES = """
SELECT person_id, occurred_at, direction, gate_id
FROM events
WHERE occurred_at >= {since}
  AND person_id IN (SELECT person_id FROM subjects)
  AND {unusual_hour}
"""

#: Passages (denied attempts excluded) of [start, end) per estate, direction and local hour,
#: split into visitor-pass entries and the rest.
TRAFFIC = """
SELECT estate_id, direction, hour, visitor, COUNT(*) AS n
FROM (
  SELECT estate_id, direction, HOUR(LOCAL(occurred_at)) AS hour,
         CASE WHEN method = 'visitor_pass' AND direction = 'in' THEN 1 ELSE 0 END AS visitor
  FROM events
  WHERE occurred_at >= {start} AND occurred_at < {end} AND outcome <> 'deny'
) passages
GROUP BY estate_id, direction, hour, visitor
"""

#: Visitor-pass entries let in per estate and local day, over the whole window.
VISITORS_PER_DAY = """
SELECT local_date, estate_id, COUNT(*) AS visitors
FROM (
  SELECT CAST(LOCAL(occurred_at) AS DATE) AS local_date, estate_id
  FROM events
  WHERE method = 'visitor_pass' AND direction = 'in' AND outcome <> 'deny'
) entries
GROUP BY local_date, estate_id
"""

EVENT_COUNT = "SELECT COUNT(*) AS events FROM events"


def unusual_hour(hour_from: int, hour_to: int) -> str:
    """The SQL predicate for a local hour in [hour_from, hour_to), which may wrap midnight."""
    hour = "HOUR(LOCAL(occurred_at))"
    joiner = "AND" if hour_from < hour_to else "OR"
    return f"({hour} >= {int(hour_from)} {joiner} {hour} < {int(hour_to)})"


def fill(sql: str, **params: datetime | int | str) -> str:
    """The definition with its parameters in place: instants as literals, integers as numbers.

    Strings are accepted only for predicates built here (`unusual_hour`), never for values.
    """
    from gridgate.adapters.sql_engines import sql_instant

    rendered: Mapping[str, str] = {
        name: sql_instant(value) if isinstance(value, datetime) else value if isinstance(value, str) else str(int(value))
        for name, value in params.items()
    }
    return sql.format(**rendered)


def subjects(frame: pl.DataFrame, *columns: str) -> dict[str, pl.DataFrame]:
    """The `subjects` table of a query: just the columns it joins on."""
    return {"subjects": frame.select(*columns).unique()}
