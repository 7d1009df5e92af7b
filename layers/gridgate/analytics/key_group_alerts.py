"""Key-group alerts from gate logs (paper §3.3): who needs a visit or a check, and why.

- An elderly or disabled resident living alone who has not been seen leaving for N days.
- A person under community correction passing a gate at unusual hours, or gone beyond a limit,
  computed ONLY for a person whose tracking is approved on the day (Community Correction Law
  Art. 29: `gridgate.domain.legal_records.CorrectionApproval`, at most three months, renewable). An
  approval that has ended stops the alerts by itself; the alert names the approving case.

Alerts are findings (`finding_frames`) whose explanation says what was seen and which threshold
it crossed; the flow turns each into a verification task. Alert keys name the episode (the
day of the last exit, the night of the passage), so the same episode is one alert however
many nights it is seen again, and a new episode is a new alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from gridgate.analytics.city_frames import CityFrames
from gridgate.analytics.event_queries import LAST_EXIT, LAST_PASSAGE, UNUSUAL_HOUR_PASSAGES, subjects, unusual_hour
from gridgate.analytics.finding_frames import about_person_at_home, empty_findings, finding_rows
from gridgate.analytics.registry_queries import KEY_GROUP_MEMBERS, in_key_groups
from gridgate.domain.legal_records import CorrectionApproval
from gridgate.domain.model import KeyGroup, Severity

#: The city's facts (`registry_queries.CITY_VIEWS`) the alerts want evaluated once per run
#: (`CityFrames.shared`): none — each members question reads only its members' homes.
SHARED_FACTS: tuple[str, ...] = ()


class AlertType:
    LIVING_ALONE_NO_EXIT = "living_alone_no_exit"
    CORRECTION_UNUSUAL_HOURS = "correction_unusual_hours"
    CORRECTION_ABSENT = "correction_absent"


ALERT_TYPES = (AlertType.LIVING_ALONE_NO_EXIT, AlertType.CORRECTION_UNUSUAL_HOURS, AlertType.CORRECTION_ABSENT)


class AlertPolicy(BaseModel):
    """Alert thresholds (flow parameters; defaults in docs/flows.md)."""

    model_config = ConfigDict(frozen=True)

    no_exit_days: int = Field(
        3, ge=1, le=60, description="days without an exit before a living-alone resident is visited"
    )
    unusual_hours_start: int = Field(23, ge=0, le=23, description="local hour the unusual period starts")
    unusual_hours_end: int = Field(5, ge=0, le=23, description="local hour it ends (exclusive; may wrap midnight)")
    unusual_window_days: int = Field(1, ge=1, le=30, description="days looked at for unusual-hour passages")
    absence_limit_hours: int = Field(
        48, ge=1, le=24 * 60, description="hours gone (last passage an exit) before a check"
    )

    @property
    def lookback_days(self) -> int:
        return max(self.no_exit_days, self.unusual_window_days, -(-self.absence_limit_hours // 24))


def _registered_members(city: CityFrames, *groups: KeyGroup) -> pl.DataFrame:
    """Key-group members with a registered home (the address a grid worker can visit), with
    their age and household size: a few per cent of the city, the `subjects` of the event questions."""
    return city.query(
        KEY_GROUP_MEMBERS, year=city.day.year, in_groups=in_key_groups(*(g.value for g in groups))
    ).with_columns(pl.col("key_groups").list.sort().list.join(",").alias("key_groups"))


def _approved_correction_members(city: CityFrames, in_force: Sequence[CorrectionApproval]) -> pl.DataFrame:
    """Community-correction members whose tracking is approved on `city.day` (`in_force`), with
    the case and last day of the approval in force (the latest-ending one when renewals overlap)."""
    in_force = sorted(in_force, key=lambda a: a.ends)
    approved = pl.DataFrame(
        {
            "person_id": [a.person_id for a in in_force],
            "approval_case": [a.case_no for a in in_force],
            "approval_ends": [a.ends.isoformat() for a in in_force],
        },
        schema={"person_id": pl.String, "approval_case": pl.String, "approval_ends": pl.String},
    ).unique("person_id", keep="last")
    members = _registered_members(city, KeyGroup.COMMUNITY_CORRECTION)
    approved = approved.with_columns(pl.col("person_id").cast(members.schema["person_id"]))
    return members.join(approved, on="person_id", how="inner")


def living_alone_without_exit(city: CityFrames, policy: AlertPolicy) -> pl.DataFrame:
    """Elderly-alone or disabled residents living alone with no exit for `no_exit_days`."""
    members = _registered_members(city, KeyGroup.ELDERLY_ALONE, KeyGroup.DISABLED)
    # The registry's "elderly living alone" tag is itself the living-alone fact; others must be alone.
    alone = members.filter(
        pl.col("key_groups").str.contains(KeyGroup.ELDERLY_ALONE.value) | (pl.col("household").fill_null(1) <= 1)
    )
    last_exit = city.query(LAST_EXIT, subjects(alone, "person_id"))
    limit = city.end - timedelta(days=policy.no_exit_days)
    known_history = city.covered_days >= policy.no_exit_days
    rows = (
        alone.join(last_exit, on="person_id", how="left")
        .filter((pl.col("last_exit_at") < limit) | (pl.col("last_exit_at").is_null() & known_history))
        .with_columns(
            pl.lit(policy.no_exit_days).alias("limit_days"),
            pl.lit(city.covered_days).alias("window_days"),
            ((pl.lit(city.end) - pl.col("last_exit_at")).dt.total_hours() // 24).alias("days_without_exit"),
        )
    )
    since = (
        pl.when(pl.col("last_exit_at").is_null())
        .then(pl.format("has no recorded exit in the last {} days", "window_days"))
        .otherwise(
            pl.format(
                "was last seen leaving on {} ({} days ago)", city.local("last_exit_at").dt.date(), "days_without_exit"
            )
        )
    )
    return finding_rows(
        rows,
        AlertType.LIVING_ALONE_NO_EXIT,
        Severity.HIGH,
        **about_person_at_home(
            pl.format("{}|{}", "person_id", city.local("last_exit_at").dt.date().cast(pl.String).fill_null("none"))
        ),
        explanation=pl.format(
            "{} (age {}, {}) lives alone at home {} and {}; limit {} days: visit",
            "person_id",
            "age",
            "key_groups",
            "home_id",
            since,
            "limit_days",
        ),
        evidence=["key_groups", "age", "household", "last_exit_at", "days_without_exit", "limit_days", "window_days"],
    )


def correction_unusual_hours(city: CityFrames, policy: AlertPolicy, members: pl.DataFrame) -> pl.DataFrame:
    """A person under approved correction tracking (`members`) passing a gate during the unusual (night) hours."""
    local = city.local()
    unusual = unusual_hour(policy.unusual_hours_start, policy.unusual_hours_end)
    passages = (
        city.query(
            UNUSUAL_HOUR_PASSAGES,
            subjects(members, "person_id"),
            since=city.since(policy.unusual_window_days),
            unusual_hour=unusual,
        )
        .sort("occurred_at", "gate_id", "direction")
        .with_columns(
            local.dt.date().alias("local_date"),
            pl.format("{} {} at gate {}", local.dt.strftime("%Y-%m-%d %H:%M"), "direction", "gate_id").alias("passage"),
        )
        .group_by("person_id", "local_date")
        .agg(pl.len().alias("passages_count"), pl.col("passage").head(10).alias("passages"))
    )
    hours = f"{policy.unusual_hours_start:02}:00-{policy.unusual_hours_end:02}:00"
    rows = passages.join(members, on="person_id", how="inner").with_columns(pl.lit(hours).alias("unusual_hours"))
    return finding_rows(
        rows,
        AlertType.CORRECTION_UNUSUAL_HOURS,
        Severity.MEDIUM,
        **about_person_at_home(pl.format("{}|{}", "person_id", "local_date")),
        explanation=pl.format(
            "{} (community correction) passed a gate {} times between {} local time on {}: first {}",
            "person_id",
            "passages_count",
            "unusual_hours",
            "local_date",
            pl.col("passages").list.first(),
        ),
        evidence=["local_date", "passages_count", "passages", "unusual_hours", "approval_case", "approval_ends"],
    )


def correction_absent(city: CityFrames, policy: AlertPolicy, members: pl.DataFrame) -> pl.DataFrame:
    """A person under approved correction tracking (`members`) whose last passage was an exit
    longer ago than the limit."""
    last = city.query(LAST_PASSAGE, subjects(members, "person_id")).with_columns(
        pl.col("last_direction").cast(pl.String), pl.col("last_gate_id").cast(pl.String)
    )
    limit = city.end - timedelta(hours=policy.absence_limit_hours)
    known_history = city.covered_days * 24 >= policy.absence_limit_hours
    rows = (
        members.join(last, on="person_id", how="left")
        .filter(
            ((pl.col("last_direction") == "out") & (pl.col("last_passage_at") < limit))
            | (pl.col("last_passage_at").is_null() & known_history)
        )
        .with_columns(
            pl.lit(policy.absence_limit_hours).alias("limit_hours"),
            pl.lit(city.covered_days).alias("window_days"),
            (pl.lit(city.end) - pl.col("last_passage_at")).dt.total_hours().alias("hours_absent"),
        )
    )
    gone = (
        pl.when(pl.col("last_passage_at").is_null())
        .then(pl.format("has passed no gate in the last {} days", "window_days"))
        .otherwise(
            pl.format(
                "left through gate {} at {} and has not come back ({} h)",
                "last_gate_id",
                city.local("last_passage_at").dt.strftime("%Y-%m-%d %H:%M"),
                "hours_absent",
            )
        )
    )
    return finding_rows(
        rows,
        AlertType.CORRECTION_ABSENT,
        Severity.HIGH,
        **about_person_at_home(
            pl.format("{}|{}", "person_id", pl.col("last_passage_at").cast(pl.String).fill_null("none"))
        ),
        explanation=pl.format(
            "{} (community correction, registered at home {}) {}; limit {} h: check",
            "person_id",
            "home_id",
            gone,
            "limit_hours",
        ),
        evidence=[
            "last_passage_at",
            "last_gate_id",
            "hours_absent",
            "limit_hours",
            "window_days",
            "approval_case",
            "approval_ends",
        ],
    )


def key_group_alerts(
    city: CityFrames, policy: AlertPolicy, correction_approvals: Sequence[CorrectionApproval] = ()
) -> pl.DataFrame:
    """Every key-group alert as of `city.day`, in a stable order. Without approvals no
    community-correction alert is computed at all — not even who is under correction is asked:
    the lawful default is no tracking."""
    parts = [living_alone_without_exit(city, policy)]
    in_force = [approval for approval in correction_approvals if approval.covers(city.day)]
    if in_force:
        members = _approved_correction_members(city, in_force)
        parts += [correction_unusual_hours(city, policy, members), correction_absent(city, policy, members)]
    return pl.concat([empty_findings(), *parts]).sort("finding_type", "grid_id", "finding_id")
