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

from collections.abc import Mapping, Sequence
from datetime import date, datetime

import polars as pl

from gridgate.adapters.sql_engines import sql_instant

#: Registered residents (not followed by a key-group alert: `{followed}`) with no passage at
#: a gate of their home's estate since `since`, with where they were last seen at all (the
#: hint that they moved). Every step is read once, so the engine streams it: a step read twice
#: is materialised and held, which broke DuckDB's 512 MB limit at 4 M persons.
RESIDENTS_NOT_SEEN = """
WITH seen AS (
  -- Events reduced to (person, estate) first: a join of millions of persons with this is
  -- cheap, with the events themselves it is most of the check.
  SELECT person_id, estate_id, MAX(occurred_at) AS seen_at
  FROM events
  WHERE occurred_at >= {since} AND person_id IS NOT NULL
  GROUP BY person_id, estate_id
), registered AS (
  SELECT p.person_id, p.registered_home_id AS home_id, h.grid_id, h.estate_id
  FROM persons p JOIN homes h ON h.home_id = p.registered_home_id
  WHERE NOT {followed}
)
SELECT r.person_id, r.home_id, r.grid_id, r.estate_id,
       MAX(s.seen_at) AS last_seen_at, MAX_BY(s.estate_id, s.seen_at) AS last_seen_estate
FROM registered r LEFT JOIN seen s ON s.person_id = r.person_id
GROUP BY r.person_id, r.home_id, r.grid_id, r.estate_id
HAVING MAX(CASE WHEN s.estate_id = r.estate_id THEN 1 ELSE 0 END) = 0
"""

#: People (not living there once this run's revocations are done: neither owners nor holders
#: of a kept grant) who entered on visitor passes for the same home on at least `min_days`
#: local days since `since`. Distinct days and passes are counted by plain group-bys, one level
#: at a time (a distinct aggregate does not spill: at 4 M persons it broke the 512 MB limit).
VISITOR_PASS_REGULARS = """
WITH entries AS (
  SELECT e.person_id, COALESCE(e.home_id, v.home_id) AS home_id, e.pass_id, CAST(LOCAL(e.occurred_at) AS DATE) AS entry_day
  FROM events e LEFT JOIN visitor_passes v ON v.pass_id = e.pass_id
  WHERE e.occurred_at >= {since}
    AND e.method = 'visitor_pass' AND e.direction = 'in' AND e.outcome = 'open' AND e.person_id IS NOT NULL
), visits AS (
  SELECT person_id, home_id, pass_id, entry_day FROM entries GROUP BY person_id, home_id, pass_id, entry_day
), regulars AS (
  SELECT person_id, home_id, COUNT(*) AS days_entered, MIN(entry_day) AS first_on
  FROM (SELECT person_id, home_id, entry_day FROM visits GROUP BY person_id, home_id, entry_day) days
  GROUP BY person_id, home_id
  HAVING COUNT(*) >= {min_days}
), passes AS (
  SELECT person_id, home_id, COUNT(*) AS passes_used
  FROM (SELECT person_id, home_id, pass_id FROM visits WHERE pass_id IS NOT NULL
        GROUP BY person_id, home_id, pass_id) used
  GROUP BY person_id, home_id
)
SELECT x.person_id, x.home_id, h.grid_id, x.days_entered, COALESCE(p.passes_used, 0) AS passes_used, x.first_on
FROM regulars x
JOIN homes h ON h.home_id = x.home_id
LEFT JOIN passes p ON p.person_id = x.person_id AND p.home_id = x.home_id
WHERE NOT EXISTS (SELECT 1 FROM current_ownerships o WHERE o.person_id = x.person_id AND o.home_id = x.home_id)
  AND NOT EXISTS (SELECT 1 FROM kept_grants g WHERE g.grantee_id = x.person_id AND g.home_id = x.home_id)
"""

#: Homes that at least `grants` + `excess` distinct non-owners entered for on `min_days` or
#: more local days since `since` (`{days_entered}`: `distinct_days` of the window), against
#: the grants in force after this run's revocations.
FACES_OVER_GRANTS = """
WITH regulars AS (
  SELECT home_id, person_id
  FROM events
  WHERE occurred_at >= {since} AND direction = 'in' AND person_id IS NOT NULL AND home_id IS NOT NULL
  GROUP BY home_id, person_id
  HAVING {days_entered} >= {min_days}
), non_owners AS (
  SELECT d.home_id, d.person_id
  FROM regulars d
  WHERE NOT EXISTS (SELECT 1 FROM current_ownerships o WHERE o.person_id = d.person_id AND o.home_id = d.home_id)
), granted AS (
  SELECT home_id, COUNT(*) AS grants FROM kept_grants GROUP BY home_id
), over AS (
  -- counted first, listed only for the homes found: a list per home of the whole city does
  -- not spill
  SELECT f.home_id, f.faces, COALESCE(g.grants, 0) AS grants
  FROM (SELECT home_id, COUNT(*) AS faces FROM non_owners GROUP BY home_id) f
  LEFT JOIN granted g ON g.home_id = f.home_id
  WHERE f.faces >= COALESCE(g.grants, 0) + {excess}
)
SELECT o.home_id, h.grid_id, o.faces, o.grants, SORTED_LIST(n.person_id) AS people
FROM over o JOIN homes h ON h.home_id = o.home_id JOIN non_owners n ON n.home_id = o.home_id
GROUP BY o.home_id, h.grid_id, o.faces, o.grants
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

#: Per estate: how many identified people entering in [start, end) came in by face only, by
#: resident QR only, and by both (the ways in of issue 18 point 2: face is never the only one).
#: Counted per estate here, not per person in the flow: the (estate, person) rows are about
#: a million at 1 M persons, and handing them over cost more than finding them.
ENTRY_WAYS = """
SELECT estate_id,
       CAST(SUM(CASE WHEN by_face = 1 AND by_qr = 0 THEN 1 ELSE 0 END) AS BIGINT) AS face_only,
       CAST(SUM(CASE WHEN by_face = 0 AND by_qr = 1 THEN 1 ELSE 0 END) AS BIGINT) AS qr_only,
       CAST(SUM(CASE WHEN by_face = 1 AND by_qr = 1 THEN 1 ELSE 0 END) AS BIGINT) AS face_and_qr
FROM (
  SELECT estate_id, person_id,
         MAX(CASE WHEN method = 'face' THEN 1 ELSE 0 END) AS by_face,
         MAX(CASE WHEN method = 'resident_qr' THEN 1 ELSE 0 END) AS by_qr
  FROM events
  WHERE occurred_at >= {start} AND occurred_at < {end} AND direction = 'in' AND outcome = 'open'
    AND person_id IS NOT NULL AND method IN ('face', 'resident_qr')
  GROUP BY estate_id, person_id
) ways
GROUP BY estate_id
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


#: Days one BIGINT of `distinct_days` holds (a 63rd bit would be the sign).
_DAYS_PER_WORD = 62


def distinct_days(column: str, starts: Sequence[datetime]) -> str:
    """The SQL aggregate "on how many of the days beginning at `starts` (ascending UTC instants:
    the window's local midnights) the rows' `column` falls".

    Why not ``COUNT(DISTINCT CAST(LOCAL(col) AS DATE))``: a distinct aggregate keeps a set per
    group; a bit per day OR-ed together is a plain aggregate (``BIT_OR``, ``BIT_COUNT``, in both
    engines), one BIGINT per 62 days. Over a week of a million-person city's entries, grouped
    by home and person, it was the larger part of the group-renting check. Rows before the
    first start count for no day (the query's WHERE bounds the window).
    """
    words = []
    for first in range(0, len(starts), _DAYS_PER_WORD):
        chunk = list(enumerate(starts[first : first + _DAYS_PER_WORD]))
        later = starts[first + _DAYS_PER_WORD : first + _DAYS_PER_WORD + 1]
        whens = [f"WHEN {column} >= {sql_instant(s)} THEN CAST(0 AS BIGINT)" for s in later]
        whens += [f"WHEN {column} >= {sql_instant(s)} THEN CAST({1 << bit} AS BIGINT)" for bit, s in reversed(chunk)]
        words.append(f"CAST(BIT_COUNT(BIT_OR(CASE {' '.join(whens)} ELSE CAST(0 AS BIGINT) END)) AS INTEGER)")
    return "(" + " + ".join(words or ["0"]) + ")"


def unusual_hour(hour_from: int, hour_to: int) -> str:
    """The SQL predicate for a local hour in [hour_from, hour_to), which may wrap midnight."""
    hour = "HOUR(LOCAL(occurred_at))"
    joiner = "AND" if hour_from < hour_to else "OR"
    return f"({hour} >= {int(hour_from)} {joiner} {hour} < {int(hour_to)})"


def _literal(value: datetime | date | float | int | str) -> str:
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

    Strings are accepted only for expressions built in code (`unusual_hour`, `distinct_days`,
    `registry_queries.in_key_groups`), never for values.
    """
    rendered: Mapping[str, str] = {name: _literal(value) for name, value in params.items()}
    return sql.format(**rendered)


def subjects(frame: pl.DataFrame, *columns: str) -> dict[str, pl.DataFrame]:
    """The `subjects` table of a query: just the columns it joins on."""
    return {"subjects": frame.select(*columns).unique()}
