"""Every question the nightly checks, statistics and alerts ask of the access events, as SQL.

One definition per question, declarative and engine-neutral: DuckDB runs it embedded over the
day-partitioned Parquet, Spark runs the very same text when the city outgrows one machine
(`gridgate.adapters.sql_engines`). Each answer is small — the rows that are findings, or one row
per estate-hour or day — so the checks in `reconciliation`, `key_group_alerts` and
`population_statistics` only phrase the findings, while neither the events nor the registries
(`registry_queries`: the views ``persons``, ``homes``, ``kept_grants`` ...) enter the flow
process.

Conventions: ``events`` is the run's window of events; ``subjects`` (when a query names it) is a
small table of the persons it is about; ``LOCAL(col)`` is an instant in the city's civil time;
``{since}``, ``{start}``, ``{end}`` are UTC instants and ``{min_days}`` an integer, filled in by
`event_query` from typed arguments only (never from user text).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import polars as pl

#: Registered residents (not followed by a key-group alert: `{followed}`) with no passage at
#: a gate of their home's estate since `since`, with where they were last seen at all (the
#: hint that they moved).
RESIDENTS_NOT_SEEN = """
WITH registered AS (
  SELECT p.person_id, p.registered_home_id AS home_id, h.grid_id, h.estate_id
  FROM persons p JOIN homes h ON h.home_id = p.registered_home_id
  WHERE NOT {followed}
), seen AS (
  -- Events reduced to (person, estate) first: a join of millions of persons with this is
  -- cheap, with the events themselves it is most of the check.
  SELECT person_id, estate_id, MAX(occurred_at) AS seen_at
  FROM events
  WHERE occurred_at >= {since} AND person_id IS NOT NULL
  GROUP BY person_id, estate_id
), presence AS (
  SELECT s.person_id,
         MAX(s.seen_at) AS last_seen_at,
         MAX_BY(s.estate_id, s.seen_at) AS last_seen_estate,
         MAX(CASE WHEN s.estate_id = r.estate_id THEN 1 ELSE 0 END) AS seen_at_home
  FROM seen s JOIN registered r ON s.person_id = r.person_id
  GROUP BY s.person_id
)
SELECT r.person_id, r.home_id, r.grid_id, r.estate_id, s.last_seen_at, s.last_seen_estate
FROM registered r LEFT JOIN presence s ON s.person_id = r.person_id
WHERE COALESCE(s.seen_at_home, 0) = 0
"""

#: People (not living there once this run's revocations are done) who entered on visitor
#: passes for the same home on at least `min_days` local days since `since`.
VISITOR_PASS_REGULARS = """
WITH entries AS (
  SELECT e.person_id, COALESCE(e.home_id, v.home_id) AS home_id, e.pass_id, CAST(LOCAL(e.occurred_at) AS DATE) AS entry_day
  FROM events e LEFT JOIN visitor_passes v ON v.pass_id = e.pass_id
  WHERE e.occurred_at >= {since}
    AND e.method = 'visitor_pass' AND e.direction = 'in' AND e.outcome = 'open' AND e.person_id IS NOT NULL
)
SELECT x.person_id, x.home_id, h.grid_id,
       COUNT(DISTINCT x.entry_day) AS days_entered, COUNT(DISTINCT x.pass_id) AS passes_used, MIN(x.entry_day) AS first_on
FROM entries x JOIN homes h ON h.home_id = x.home_id
WHERE NOT EXISTS (SELECT 1 FROM kept_residents r WHERE r.person_id = x.person_id AND r.home_id = x.home_id)
GROUP BY x.person_id, x.home_id, h.grid_id
HAVING COUNT(DISTINCT x.entry_day) >= {min_days}
"""

#: Homes that at least `grants` + `excess` distinct non-owners entered for on `min_days` or
#: more local days since `since`, against the grants in force after this run's revocations.
FACES_OVER_GRANTS = """
WITH regulars AS (
  SELECT home_id, person_id
  FROM events
  WHERE occurred_at >= {since} AND direction = 'in' AND person_id IS NOT NULL AND home_id IS NOT NULL
  GROUP BY home_id, person_id
  HAVING COUNT(DISTINCT CAST(LOCAL(occurred_at) AS DATE)) >= {min_days}
), faces AS (
  SELECT d.home_id, COUNT(*) AS faces, SORTED_LIST(d.person_id) AS people
  FROM regulars d
  WHERE NOT EXISTS (SELECT 1 FROM current_ownerships o WHERE o.person_id = d.person_id AND o.home_id = d.home_id)
  GROUP BY d.home_id
), granted AS (
  SELECT home_id, COUNT(*) AS grants FROM kept_grants GROUP BY home_id
)
SELECT f.home_id, h.grid_id, f.faces, COALESCE(g.grants, 0) AS grants, f.people
FROM faces f JOIN homes h ON h.home_id = f.home_id LEFT JOIN granted g ON g.home_id = f.home_id
WHERE f.faces >= COALESCE(g.grants, 0) + {excess}
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

#: Per estate and identified person entering in [start, end): whether they came in by face and
#: whether by resident QR (the ways in of issue 18 point 2: face is never the only one).
ENTRY_WAYS = """
SELECT estate_id, person_id,
       MAX(CASE WHEN method = 'face' THEN 1 ELSE 0 END) AS by_face,
       MAX(CASE WHEN method = 'resident_qr' THEN 1 ELSE 0 END) AS by_qr
FROM events
WHERE occurred_at >= {start} AND occurred_at < {end} AND direction = 'in' AND outcome = 'open'
  AND person_id IS NOT NULL AND method IN ('face', 'resident_qr')
GROUP BY estate_id, person_id
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


def _literal(value: datetime | date | float | int | str) -> str:
    from gridgate.adapters.sql_engines import sql_instant

    if isinstance(value, datetime):
        return sql_instant(value)
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"CAST({float(value)!r} AS DOUBLE)"
    return str(int(value))


def fill(sql: str, **params: datetime | date | float | int | str) -> str:
    """The definition with its parameters in place: instants and days as literals, numbers as numbers.

    Strings are accepted only for predicates built in code (`unusual_hour`,
    `registry_queries.in_key_groups`), never for values.
    """
    rendered: Mapping[str, str] = {name: _literal(value) for name, value in params.items()}
    return sql.format(**rendered)


def subjects(frame: pl.DataFrame, *columns: str) -> dict[str, pl.DataFrame]:
    """The `subjects` table of a query: just the columns it joins on."""
    return {"subjects": frame.select(*columns).unique()}
