"""Nightly reconciliation: cross-check the registries, property records, rights and gate logs.

Each check is one SQL definition (`registry_queries`, or `event_queries` when it needs the gate
logs), answered by the city's engine (DuckDB or Spark) over the Parquet snapshots and events
without either entering this process; the check only phrases the rows it gets back as findings
(`finding_frames`). Two checks also return the
corrective action the flow applies (revoke a grant given by someone who no longer owns the
home; expire visitor passes still marked active). Nothing here touches storage, so the same
code runs in the flow and in the benchmark.

Thresholds live in `ReconciliationPolicy`; docs/flows.md lists them with their defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from gridgate.analytics.city_frames import CityFrames
from gridgate.analytics.event_queries import (
    FACES_OVER_GRANTS,
    RESIDENTS_NOT_SEEN,
    VISITOR_PASS_REGULARS,
    distinct_days,
)
from gridgate.analytics.finding_frames import (
    FindingTarget,
    about_person_at_home,
    empty_findings,
    finding_id,
    finding_rows,
)
from gridgate.analytics.registry_queries import (
    EXPIRED_PASSES_ACTIVE,
    GRANTEES_NOT_REGISTERED,
    GRANTEES_REGISTERED_ELSEWHERE,
    GRANTS_BY_FORMER_OWNERS,
    GRANTS_OVER_CAP,
    in_key_groups,
)
from gridgate.domain.model import Severity


class FindingType:
    """Reconciliation finding types (strings, as stored)."""

    GRANTEE_REGISTERED_ELSEWHERE = "grantee_registered_elsewhere"
    GRANTEE_NOT_REGISTERED = "grantee_not_registered"
    RESIDENT_NOT_SEEN = "resident_not_seen"
    VISITOR_PASS_REGULAR = "visitor_pass_regular"
    GRANTS_OVER_CAP = "grants_over_cap"
    FACES_OVER_GRANTS = "faces_over_grants"
    GRANT_BY_FORMER_OWNER = "grant_by_former_owner"
    EXPIRED_PASS_ACTIVE = "expired_pass_active"


FINDING_TYPES = (
    FindingType.GRANTEE_REGISTERED_ELSEWHERE,
    FindingType.GRANTEE_NOT_REGISTERED,
    FindingType.RESIDENT_NOT_SEEN,
    FindingType.VISITOR_PASS_REGULAR,
    FindingType.GRANTS_OVER_CAP,
    FindingType.FACES_OVER_GRANTS,
    FindingType.GRANT_BY_FORMER_OWNER,
    FindingType.EXPIRED_PASS_ACTIVE,
)

#: Finding types the flow resolves itself (by revoking or expiring); no door-to-door visit needed.
AUTO_RESOLVED_TYPES = frozenset({FindingType.GRANT_BY_FORMER_OWNER, FindingType.EXPIRED_PASS_ACTIVE})

#: The city's facts (`registry_queries.CITY_VIEWS`) several checks lean on, evaluated once per
#: run (`CityFrames.shared`): the grants kept after this run's revocations enter five checks.
SHARED_FACTS = ("former_owner_grants", "kept_grants")

#: Key groups followed up by the key-group alerts; "not seen" would only duplicate those visits.
_KEY_GROUPS_WITH_OWN_ALERTS = ("elderly_alone", "disabled")


class ReconciliationPolicy(BaseModel):
    """Thresholds of the reconciliation checks (flow parameters; defaults in docs/flows.md)."""

    model_config = ConfigDict(frozen=True)

    resident_unseen_days: int = Field(
        7, ge=1, le=180, description="registered resident not seen at their estate for this many days"
    )
    visitor_pass_window_days: int = Field(7, ge=1, le=180)
    visitor_pass_min_days: int = Field(
        3, ge=2, description="distinct days entering on visitor passes for the same home"
    )
    group_rent_window_days: int = Field(7, ge=1, le=180)
    group_rent_min_days: int = Field(
        2, ge=1, description="days a non-owner must be seen entering for a home to count as living there"
    )
    group_rent_excess: int = Field(
        2, ge=1, description="distinct non-owner faces above the home's grants that make it suspect"
    )

    @property
    def lookback_days(self) -> int:
        """Days of access events the checks need."""
        return max(self.resident_unseen_days, self.visitor_pass_window_days, self.group_rent_window_days)


@dataclass(frozen=True)
class ReconciliationResult:
    findings: pl.DataFrame
    #: grant_id, home_id, estate_id, grantee_id, granted_by, notify (current owners), finding_id
    grants_to_revoke: pl.DataFrame
    #: pass_id, home_id, estate_id, valid_until, finding_id
    passes_to_expire: pl.DataFrame
    #: checks not run, with the reason (e.g. too few days of events to conclude anything)
    skipped: list[str] = field(default_factory=list)


def _about_home() -> FindingTarget:
    """Where a finding about a home as a whole points: the home, in its grid."""
    return FindingTarget(
        key=pl.col("home_id"),
        subject=pl.format("home#{}", "home_id"),
        grid_id=pl.col("grid_id"),
        home_id=pl.col("home_id"),
        person_id=None,
    )


def grantees_registered_elsewhere(city: CityFrames) -> pl.DataFrame:
    """A grantee whose actual-population registry address is another home."""
    return finding_rows(
        city.query(GRANTEES_REGISTERED_ELSEWHERE),
        FindingType.GRANTEE_REGISTERED_ELSEWHERE,
        Severity.LOW,
        **about_person_at_home(pl.col("grant_id")),
        explanation=pl.format(
            "{} is granted home {} as {} by {} but the population registry has them at home {}",
            "person_id",
            "home_id",
            "relation",
            "granted_by",
            "registered_home_id",
        ),
        evidence=["grant_id", "relation", "granted_by", "registered_home_id"],
    )


def grantees_not_registered(city: CityFrames) -> pl.DataFrame:
    """A grantee known to the app registry whom the population registry has no address for.

    The app registry (where the owner named them) and the actual-population registry disagree:
    someone lives at the home who is not registered anywhere — floating population to register.
    """
    rows = city.query(GRANTEES_NOT_REGISTERED).with_columns(
        pl.col("registries").list.sort().list.join(",").alias("registries")
    )
    return finding_rows(
        rows,
        FindingType.GRANTEE_NOT_REGISTERED,
        Severity.LOW,
        **about_person_at_home(pl.col("grant_id")),
        explanation=pl.format(
            "{} lives at home {} as {} (granted by {}) but has no address in the population registry (registries: {})",
            "person_id",
            "home_id",
            "relation",
            "granted_by",
            "registries",
        ),
        evidence=["grant_id", "relation", "granted_by", "registries"],
    )


def residents_not_seen(city: CityFrames, days: int) -> pl.DataFrame:
    """A registered resident with no passage at their estate in the last `days` days (moved out?)."""
    rows = city.query(
        RESIDENTS_NOT_SEEN, since=city.since(days), followed=in_key_groups(*_KEY_GROUPS_WITH_OWN_ALERTS)
    ).with_columns(
        pl.lit(days).alias("window_days"),
        pl.when(pl.col("last_seen_estate").is_null())
        .then(pl.lit("not seen at any gate"))
        .otherwise(pl.format("last seen at estate {}", "last_seen_estate"))
        .alias("_where"),
    )
    return finding_rows(
        rows,
        FindingType.RESIDENT_NOT_SEEN,
        Severity.MEDIUM,
        **about_person_at_home(pl.format("{}|{}", "person_id", "home_id")),
        explanation=pl.format(
            "{} is registered at home {} but has not passed a gate of estate {} for {} days; {}",
            "person_id",
            "home_id",
            "estate_id",
            "window_days",
            "_where",
        ),
        evidence=["estate_id", "window_days", "last_seen_at", "last_seen_estate"],
    )


def visitor_pass_regulars(city: CityFrames, window_days: int, min_days: int) -> pl.DataFrame:
    """Someone entering on visitor passes for the same home on many days: an undeclared resident."""
    rows = city.query(VISITOR_PASS_REGULARS, since=city.since(window_days), min_days=min_days).with_columns(
        pl.lit(window_days).alias("window_days")
    )
    return finding_rows(
        rows,
        FindingType.VISITOR_PASS_REGULAR,
        Severity.MEDIUM,
        **about_person_at_home(pl.format("{}|{}", "person_id", "home_id")),
        explanation=pl.format(
            "{} entered on visitor passes for home {} on {} of the last {} days ({} passes): an undeclared resident?",
            "person_id",
            "home_id",
            "days_entered",
            "window_days",
            "passes_used",
        ),
        evidence=["days_entered", "passes_used", "first_on", "window_days"],
    )


def grants_over_cap(city: CityFrames) -> pl.DataFrame:
    """A home with more effective grants than its floor-area cap allows."""
    return finding_rows(
        city.query(GRANTS_OVER_CAP),
        FindingType.GRANTS_OVER_CAP,
        Severity.HIGH,
        **_about_home(),
        explanation=pl.format(
            "home {} has {} grants in force but its cap is {}: group renting?", "home_id", "grants", "cap"
        ),
        evidence=["grants", "cap", "grant_ids"],
    )


def faces_over_grants(city: CityFrames, window_days: int, min_days: int, excess: int) -> pl.DataFrame:
    """A home more distinct non-owners keep entering for than it has grants: group renting."""
    since = city.since(window_days)
    rows = city.query(
        FACES_OVER_GRANTS,
        since=since,
        min_days=min_days,
        excess=excess,
        days_entered=distinct_days("occurred_at", city.day_starts(since)),
    ).with_columns(pl.col("people").list.head(20), pl.lit(window_days).alias("window_days"))
    return finding_rows(
        rows,
        FindingType.FACES_OVER_GRANTS,
        Severity.MEDIUM,
        **_about_home(),
        explanation=pl.format(
            "{} different non-owners entered for home {} on several of the last {} days but it has {} grants: group renting?",
            "faces",
            "home_id",
            "window_days",
            "grants",
        ),
        evidence=["faces", "grants", "people", "window_days"],
    )


def grants_by_former_owners(city: CityFrames) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Active grants whose grantor does not own the home any more; returns (findings, actions)."""
    rows = city.query(GRANTS_BY_FORMER_OWNERS).with_columns(
        pl.col("notify").fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )
    findings = finding_rows(
        rows,
        FindingType.GRANT_BY_FORMER_OWNER,
        Severity.HIGH,
        key=pl.col("grant_id"),
        subject=pl.format("grant#{}", "grant_id"),
        grid_id=pl.col("grid_id"),
        home_id=pl.col("home_id"),
        person_id=pl.col("grantee_id"),
        explanation=pl.format(
            "grant {} for {} to home {} was given by {}, who no longer owns the home; revoked and the owners told",
            "grant_id",
            "grantee_id",
            "home_id",
            "granted_by",
        ),
        evidence=["grant_id", "grantee_id", "granted_by", "relation", "owned_until", "notify"],
    )
    actions = rows.select(
        "grant_id", "home_id", "estate_id", "grantee_id", "granted_by", "relation", "notify", "owned_until"
    )
    return findings, _attach_finding_ids(actions, findings, FindingType.GRANT_BY_FORMER_OWNER, "grant_id")


def expired_passes_still_active(city: CityFrames) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Visitor passes past their validity still marked active; returns (findings, actions)."""
    rows = city.query(EXPIRED_PASSES_ACTIVE, end=city.end)
    findings = finding_rows(
        rows,
        FindingType.EXPIRED_PASS_ACTIVE,
        Severity.LOW,
        key=pl.col("pass_id"),
        subject=pl.format("pass#{}", "pass_id"),
        grid_id=pl.col("grid_id"),
        home_id=pl.col("home_id"),
        person_id=None,
        explanation=pl.format(
            "visitor pass {} expired at {} but was still marked active; marked expired", "pass_id", "valid_until"
        ),
        evidence=["pass_id", "issued_by", "valid_until"],
    )
    actions = rows.select("pass_id", "home_id", "estate_id", "issued_by", "valid_until")
    return findings, _attach_finding_ids(actions, findings, FindingType.EXPIRED_PASS_ACTIVE, "pass_id")


def _attach_finding_ids(actions: pl.DataFrame, findings: pl.DataFrame, finding_type: str, key: str) -> pl.DataFrame:
    """Pair each action with its finding, so the flow can close the finding once it is done."""
    keys = actions[key].cast(pl.String)
    ids = pl.Series("finding_id", [finding_id(finding_type, k) for k in keys], dtype=pl.String)
    return actions.with_columns(keys, ids).join(findings.select("finding_id"), on="finding_id", how="semi")


def reconcile(city: CityFrames, policy: ReconciliationPolicy) -> ReconciliationResult:
    """Run every check; the result is a pure function of the frames and the policy."""
    skipped: list[str] = []
    former_owner_findings, grants_to_revoke = grants_by_former_owners(city)
    expired_findings, passes_to_expire = expired_passes_still_active(city)
    # The other checks count only the grants kept after this run's revocations
    # (`registry_queries`: kept_grants), so running again after them finds exactly the same.
    parts = [grantees_registered_elsewhere(city), grantees_not_registered(city), grants_over_cap(city)]
    if city.covered_days >= policy.resident_unseen_days:
        parts.append(residents_not_seen(city, policy.resident_unseen_days))
    else:
        skipped.append(
            f"{FindingType.RESIDENT_NOT_SEEN}: events cover {city.covered_days} days, "
            f"{policy.resident_unseen_days} needed"
        )
    parts.append(visitor_pass_regulars(city, policy.visitor_pass_window_days, policy.visitor_pass_min_days))
    parts.append(
        faces_over_grants(city, policy.group_rent_window_days, policy.group_rent_min_days, policy.group_rent_excess)
    )
    parts += [former_owner_findings, expired_findings]
    findings = pl.concat([empty_findings(), *parts]).sort("finding_type", "grid_id", "finding_id")
    return ReconciliationResult(findings, grants_to_revoke, passes_to_expire, skipped)
