"""Every question the nightly checks, statistics and alerts ask of the registries, as SQL.

The companion of `event_queries`: there the gate logs, here the registry snapshots (``persons``,
``homes``, ``ownerships``, ``grants``, ``visitor_passes``, ``places``), which the engine reads
from the Parquet the flows staged — so no whole registry is ever a frame in the flow process,
only each question's (small) answer: the rows that are findings, or one row per place.

`CITY_VIEWS` are the facts every question shares (who owns what on the run's day, the grants
in force, each home's cap, where each home sits in the place hierarchy), defined once and
created as views before each question. Parameters are typed (`event_queries.fill`): ``{day}``
is the run's local day, ``{end}`` the instant it ends, the cap policy's numbers are numbers.
"""

from __future__ import annotations

import re

#: Place levels statistics are rolled up to, finest first, and the column naming each.
LEVELS = ("estate", "grid", "community", "street", "district")
LEVEL_COLUMNS = {level: f"{level}_id" for level in LEVELS}


def _residents(grants_view: str) -> str:
    """(person_id, home_id, role): owners, then granted family and tenants; owner wins a tie.

    A plain group-by with ``MIN_BY`` (which both engines have), not ``ROW_NUMBER() OVER
    (PARTITION BY ...)``: a window over every owner and grantee of the city holds its partitions,
    where an aggregate spills."""
    return f"""
SELECT person_id, home_id, MIN_BY(role, CASE WHEN role = 'owner' THEN '0' ELSE CONCAT('1', role) END) AS role
FROM (SELECT person_id, home_id, 'owner' AS role FROM current_ownerships
      UNION ALL
      SELECT grantee_id AS person_id, home_id, relation AS role FROM {grants_view}) candidates
GROUP BY person_id, home_id
"""


#: The shared facts, in dependency order: (view name, definition).
CITY_VIEWS: tuple[tuple[str, str], ...] = (
    (
        "current_ownerships",
        """
SELECT person_id, home_id, estate_id, since, until FROM ownerships
WHERE since <= {day} AND (until IS NULL OR until > {day})
""",
    ),
    # Grants that open the gate on the run's day: active and inside their dates.
    (
        "effective_grants",
        """
SELECT * FROM grants
WHERE status = 'active' AND starts_on <= {day} AND (ends_on IS NULL OR ends_on >= {day})
""",
    ),
    # Active grants (of a known home) whose grantor does not own the home any more: the
    # reconciliation revokes them.
    (
        "former_owner_grants",
        """
SELECT g.* FROM grants g
WHERE g.status = 'active' AND (g.ends_on IS NULL OR g.ends_on >= {day})
  AND EXISTS (SELECT 1 FROM homes h WHERE h.home_id = g.home_id)
  AND NOT EXISTS (SELECT 1 FROM current_ownerships o WHERE o.person_id = g.granted_by AND o.home_id = g.home_id)
""",
    ),
    # The grants in force once this run's revocations are done: the reconciliation's other
    # checks see the city so, which is why running it again finds exactly the same.
    (
        "kept_grants",
        """
SELECT * FROM effective_grants g
WHERE NOT EXISTS (SELECT 1 FROM former_owner_grants r WHERE r.grant_id = g.grant_id)
""",
    ),
    ("residents", _residents("effective_grants")),
    (
        "estate_places",
        """
SELECT place_id AS estate_id, grid_id, community_id, street_id, district_id FROM places WHERE kind = 'estate'
""",
    ),
    # Each home with every level above it (the home's own grid wins over the estate's).
    (
        "home_places",
        """
SELECT h.home_id, h.estate_id, h.grid_id, e.community_id, e.street_id, e.district_id
FROM homes h LEFT JOIN estate_places e ON h.estate_id = e.estate_id
""",
    ),
    # Each resident (`residents`) with every level of the home they live at and, per level,
    # whether they are floating there (registered at a home of another place of that level,
    # or nowhere): the join every level's resident statistics start from, made once. Flags,
    # not the registered home's places: the shared file is half as wide (written in 1.6 s
    # instead of 2.2 s at 1 M persons).
    (
        "resident_places",
        """
SELECT r.person_id, r.role,
       hp.estate_id, hp.grid_id, hp.community_id, hp.street_id, hp.district_id,
"""
        + ",\n".join(f"       COALESCE(rp.{col} <> hp.{col}, TRUE) AS floating_{col}" for col in LEVEL_COLUMNS.values())
        + """
FROM residents r
JOIN home_places hp ON hp.home_id = r.home_id
LEFT JOIN persons p ON p.person_id = r.person_id
LEFT JOIN home_places rp ON rp.home_id = p.registered_home_id
""",
    ),
    # The city's cap policy on floor area: floor(area / area per person), clamped.
    (
        "home_caps",
        """
SELECT home_id,
       CAST(GREATEST({cap_min}, LEAST({cap_max}, FLOOR(GREATEST(floor_area_m2, 0.0) / {area_per_person}))) AS BIGINT) AS cap
FROM homes WHERE floor_area_m2 IS NOT NULL
""",
    ),
)


def in_key_groups(*groups: str) -> str:
    """The SQL predicate "the person is in any of `groups`" (false when they have none)."""
    for group in groups:
        if not re.fullmatch(r"[a-z_]+", group):
            raise ValueError(f"not a key group: {group!r}")
    tests = " OR ".join(f"array_contains(p.key_groups, '{group}')" for group in groups)
    return f"COALESCE(({tests}), FALSE)"


# --- reconciliation -----------------------------------------------------------------------------

#: Grants in force whose grantee the population registry has at another home.
GRANTEES_REGISTERED_ELSEWHERE = """
SELECT g.grant_id, g.home_id, g.grantee_id AS person_id, g.relation, g.granted_by, p.registered_home_id, h.grid_id
FROM kept_grants g
JOIN persons p ON p.person_id = g.grantee_id
JOIN homes h ON h.home_id = g.home_id
WHERE p.registered_home_id IS NOT NULL AND p.registered_home_id <> g.home_id
"""

#: Grants in force whose grantee the population registry has no address for.
GRANTEES_NOT_REGISTERED = """
SELECT g.grant_id, g.home_id, g.grantee_id AS person_id, g.relation, g.granted_by, p.registries, h.grid_id
FROM kept_grants g
JOIN persons p ON p.person_id = g.grantee_id
JOIN homes h ON h.home_id = g.home_id
WHERE p.registered_home_id IS NULL
"""

#: Homes with more grants in force than their cap.
#: Counted first and listed only for the homes over their cap: a list aggregate over every
#: home of a 4 M-person city does not spill and broke DuckDB's 512 MB limit.
GRANTS_OVER_CAP = """
WITH over_cap AS (
  SELECT n.home_id, h.grid_id, n.grants, c.cap
  FROM (SELECT home_id, COUNT(*) AS grants FROM kept_grants GROUP BY home_id) n
  JOIN home_caps c ON c.home_id = n.home_id
  JOIN homes h ON h.home_id = n.home_id
  WHERE n.grants > c.cap
)
SELECT o.home_id, o.grid_id, o.grants, o.cap, SORTED_LIST(g.grant_id) AS grant_ids
FROM over_cap o JOIN kept_grants g ON g.home_id = o.home_id
GROUP BY o.home_id, o.grid_id, o.grants, o.cap
"""

#: The grants the reconciliation revokes, with the current owners to tell and when the
#: grantor's ownership ended.
GRANTS_BY_FORMER_OWNERS = """
SELECT g.grant_id, g.home_id, g.estate_id, g.grantee_id, g.granted_by, g.relation, h.grid_id, n.notify, u.owned_until
FROM former_owner_grants g
JOIN homes h ON h.home_id = g.home_id
LEFT JOIN (SELECT home_id, SORTED_LIST(person_id) AS notify FROM current_ownerships
           WHERE home_id IN (SELECT home_id FROM former_owner_grants) GROUP BY home_id) n
  ON n.home_id = g.home_id
LEFT JOIN (SELECT person_id, home_id, MAX(until) AS owned_until FROM ownerships GROUP BY person_id, home_id) u
  ON u.person_id = g.granted_by AND u.home_id = g.home_id
"""

#: Visitor passes past their validity (at the end of the run's day) still marked active.
EXPIRED_PASSES_ACTIVE = """
SELECT v.pass_id, v.home_id, v.estate_id, v.issued_by, v.valid_until, h.grid_id
FROM visitor_passes v JOIN homes h ON h.home_id = v.home_id
WHERE v.status = 'active' AND v.valid_until < {end}
"""

# --- statistics ---------------------------------------------------------------------------------


def _per_level(select: str, source: str) -> str:
    """`select` (with ``{col}`` the level's column) grouped per place, for every level at once."""
    return "\nUNION ALL\n".join(
        f"SELECT '{level}' AS level, {LEVEL_COLUMNS[level]} AS place_id, "
        + select.replace("{col}", LEVEL_COLUMNS[level])
        + f" FROM {source} WHERE {LEVEL_COLUMNS[level]} IS NOT NULL GROUP BY {LEVEL_COLUMNS[level]}"
        for level in LEVELS
    )


def _level_persons(level: str, flags: str, counts: str, source: str) -> str:
    """Distinct persons per place of one level: first one row per (place, person) with `flags`
    (0/1 maxima, ``{col}`` the level's column), then `counts` sums them per place.

    Why two steps and not ``COUNT(DISTINCT ...)``: distinct aggregates do not spill in DuckDB
    (five of them over a million residents exhaust a 512 MB limit); plain group-bys do.
    """
    col = LEVEL_COLUMNS[level]
    return (
        f"SELECT '{level}' AS level, place_id, {counts} FROM ("
        f"SELECT {col} AS place_id, person_id, "
        + flags.replace("{col}", col)
        + f" FROM {source} WHERE {col} IS NOT NULL GROUP BY {col}, person_id"
        ") per_person GROUP BY place_id"
    )


def resident_counts(level: str) -> str:
    """Residents per place of `level`: by role, in total, and floating (registered elsewhere in
    that level, or nowhere).

    Why one query per level, not the five levels UNION ALL'd over one shared CTE: the engine
    materialises a CTE read five times, and a million residents' rows with their places broke
    DuckDB's 512 MB limit at 1 M persons (a materialised CTE is held, not spilled). One level
    at a time streams: each query joins, groups and spills on its own.
    """
    col = LEVEL_COLUMNS[level]
    return f"""
WITH placed AS (
  SELECT person_id, role, {col}, floating_{col} AS floating
  FROM resident_places
)
""" + _level_persons(
        level,
        "MAX(CASE WHEN role = 'owner' THEN 1 ELSE 0 END) AS owner, "
        "MAX(CASE WHEN role = 'family' THEN 1 ELSE 0 END) AS family, "
        "MAX(CASE WHEN role = 'tenant' THEN 1 ELSE 0 END) AS tenant, "
        "MAX(CASE WHEN floating THEN 1 ELSE 0 END) AS floating",
        "CAST(SUM(owner) AS BIGINT) AS owners, CAST(SUM(family) AS BIGINT) AS family, "
        "CAST(SUM(tenant) AS BIGINT) AS tenants, COUNT(*) AS total, CAST(SUM(floating) AS BIGINT) AS floating",
        "placed",
    )


#: Persons the population registry has at a home of each place.
REGISTERED_COUNTS = """
WITH registered_at AS (
  SELECT hp.* FROM persons p JOIN home_places hp ON hp.home_id = p.registered_home_id
)
""" + _per_level("COUNT(*) AS registered", "registered_at")

#: Homes, grants in force and caps per place and level.
CAPACITY_COUNTS = """
WITH capacity AS (
  SELECT hp.*, COALESCE(c.cap, 0) AS cap, COALESCE(g.grants, 0) AS grants
  FROM home_places hp
  LEFT JOIN home_caps c ON c.home_id = hp.home_id
  LEFT JOIN (SELECT home_id, COUNT(*) AS grants FROM effective_grants GROUP BY home_id) g ON g.home_id = hp.home_id
)
""" + _per_level(
    "COUNT(*) AS homes, CAST(SUM(grants) AS BIGINT) AS grants, CAST(SUM(cap) AS BIGINT) AS cap, "
    "CAST(SUM(CASE WHEN grants >= cap THEN 1 ELSE 0 END) AS BIGINT) AS at_cap, "
    "CAST(SUM(CASE WHEN grants > cap THEN 1 ELSE 0 END) AS BIGINT) AS over_cap",
    "capacity",
)

ESTATE_PLACES = "SELECT * FROM estate_places"

# --- key-group alerts ----------------------------------------------------------------------------

#: Members of key groups (`{in_groups}`, from `in_key_groups`) with a registered home, their
#: age in `{year}` and how many live there: registered at the home or granted it (owners
#: elsewhere do not count). Households are counted for the members' homes only (a few per
#: cent of the city), not for every home: city-wide it cost 0.35 s at 1 M persons.
KEY_GROUP_MEMBERS = """
WITH members AS (
  SELECT p.person_id, p.registered_home_id AS home_id, p.key_groups, {year} - p.birth_year AS age, h.grid_id
  FROM persons p
  JOIN homes h ON h.home_id = p.registered_home_id
  WHERE {in_groups}
), living AS (
  SELECT person_id, registered_home_id AS home_id FROM persons
  WHERE registered_home_id IN (SELECT home_id FROM members)
  UNION
  SELECT grantee_id AS person_id, home_id FROM effective_grants
  WHERE home_id IN (SELECT home_id FROM members)
)
SELECT m.person_id, m.home_id, m.key_groups, m.age, m.grid_id, hh.household
FROM members m
LEFT JOIN (SELECT home_id, COUNT(*) AS household FROM living GROUP BY home_id) hh ON hh.home_id = m.home_id
"""

# --- the flows ----------------------------------------------------------------------------------

#: The homes the night's tasks are at, with what a walking order needs (`subjects`: home_id).
HOMES_OF = "SELECT * FROM homes WHERE home_id IN (SELECT home_id FROM subjects)"


def row_count(snapshot: str) -> str:
    """How many rows snapshot `snapshot` has (one of the view names, never user text)."""
    if not re.fullmatch(r"[a-z_]+", snapshot):
        raise ValueError(f"not a snapshot name: {snapshot!r}")
    return f"SELECT COUNT(*) AS n FROM {snapshot}"
