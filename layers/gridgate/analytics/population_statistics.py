"""Population statistics per estate, grid, community, street and district (paper §3.3).

For one local day: residents by role (owners, family, tenants), registered and floating
population, visitors, entries and exits per local hour, grants against the homes' caps, and per
estate how many people came in by face only, by QR only or by both (face is never the only way).
Resident and capacity counts are SQL definitions (`registry_queries`) grouped per place at
every level in one pass; traffic is counted per estate and hour by the engine (`event_queries`)
and rolled up here through the place hierarchy (a few thousand rows).

The result is long: one row per (level, place, metric) with `value` and, for hourly metrics,
a 24-value `series` — the shape of the statistics table.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from gridgate.analytics.city_frames import LEVEL_COLUMNS, LEVELS, CityFrames, local_midnight
from gridgate.analytics.event_queries import ENTRY_WAYS, TRAFFIC, VISITORS_PER_DAY
from gridgate.analytics.registry_queries import CAPACITY_COUNTS, REGISTERED_COUNTS, resident_counts
from gridgate.domain.model import Statistic

#: The city's facts (`registry_queries.CITY_VIEWS`) the statistics of every level start from,
#: evaluated once per run (`CityFrames.shared`) instead of once per level.
SHARED_FACTS = ("home_places", "resident_places")

STATISTIC_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "level": pl.String,
    "place_id": pl.String,
    "metric": pl.String,
    "value": pl.Float64,
    "series": pl.List(pl.Int64),
}


def _long(frame: pl.DataFrame, level: str, metric: str, value: str, series: str | None = None) -> pl.DataFrame:
    return frame.select(
        pl.lit(level).alias("level"),
        pl.col(LEVEL_COLUMNS[level]).cast(pl.String).alias("place_id"),
        pl.lit(metric).alias("metric"),
        pl.col(value).cast(pl.Float64).alias("value"),
        (pl.col(series) if series else pl.lit(None, dtype=pl.List(pl.Int64))).alias("series"),
    ).filter(pl.col("place_id").is_not_null())


def local_day_traffic(city: CityFrames, day: date) -> pl.DataFrame:
    """Passages of local day `day` (denied attempts excluded) per estate, direction and local hour."""
    start, end = local_midnight(day, city.timezone), local_midnight(day + timedelta(days=1), city.timezone)
    return city.query(TRAFFIC, start=start, end=end)


def _per_place(counts: pl.DataFrame, metrics: dict[str, str], *, drop_zero: tuple[str, ...] = ()) -> list[pl.DataFrame]:
    """Wide per-place counts (level, place_id, one column each) as long statistic rows.

    `drop_zero` metrics are only stated where there is something to count (no "0 tenants" row
    for an estate without tenants), as a group-by would state them.
    """
    out = []
    for column, metric in metrics.items():
        rows = counts.filter(pl.col(column) > 0) if column in drop_zero else counts
        out.append(
            rows.select(
                pl.col("level").cast(pl.String),
                pl.col("place_id").cast(pl.String),
                pl.lit(metric).alias("metric"),
                pl.col(column).cast(pl.Float64).alias("value"),
                pl.lit(None, dtype=pl.List(pl.Int64)).alias("series"),
            )
        )
    return out


def _resident_statistics(city: CityFrames) -> list[pl.DataFrame]:
    roles = {"owners": "residents.owners", "family": "residents.family", "tenants": "residents.tenants"}
    residents = _per_place(
        pl.concat([city.query(resident_counts(level)) for level in LEVELS], how="vertical_relaxed"),
        {**roles, "total": "residents.total", "floating": "floating"},
        drop_zero=(*roles, "floating"),
    )
    return residents + _per_place(city.query(REGISTERED_COUNTS), {"registered": "registered"})


def _capacity_statistics(city: CityFrames) -> list[pl.DataFrame]:
    counts = city.query(CAPACITY_COUNTS).with_columns(
        pl.when(pl.col("cap") > 0).then(pl.col("grants") / pl.col("cap")).otherwise(0.0).alias("ratio")
    )
    return _per_place(
        counts,
        {
            "homes": "homes",
            "grants": "grants.active",
            "cap": "grants.cap",
            "at_cap": "homes.at_cap",
            "over_cap": "homes.over_cap",
            "ratio": "occupancy.ratio",
        },
    )


def _hourly_series(counts: pl.DataFrame, col: str) -> pl.DataFrame:
    """(place, hour, n) rows → one row per place with a dense 24-value list and its total."""
    dense = counts.pivot(on="hour", index=col, values="n", aggregate_function="sum")
    hours = [str(h) for h in range(24)]
    dense = dense.with_columns([pl.lit(0, dtype=pl.Int64).alias(h) for h in hours if h not in dense.columns])
    return dense.select(
        col,
        pl.concat_list([pl.col(h).fill_null(0).cast(pl.Int64) for h in hours]).alias("series"),
    ).with_columns(pl.col("series").list.sum().alias("total"))


def _traffic_statistics(traffic: pl.DataFrame, estate_levels: pl.DataFrame) -> list[pl.DataFrame]:
    """Passages per hour, and visitor entries, rolled up from estates."""
    by_estate = traffic.group_by("estate_id", "direction", "hour").agg(pl.col("n").sum())
    visitors_by_estate = traffic.filter(pl.col("visitor") == 1).group_by("estate_id").agg(pl.col("n").sum())
    out = []
    for level in LEVELS:
        col = LEVEL_COLUMNS[level]
        rolled = by_estate.join(estate_levels, on="estate_id", how="inner") if level != "estate" else by_estate
        for direction, metric in (("in", "entries"), ("out", "exits")):
            counts = rolled.filter(pl.col("direction") == direction).group_by(col, "hour").agg(pl.col("n").sum())
            if not counts.is_empty():
                out.append(_long(_hourly_series(counts, col), level, metric, "total", "series"))
        visitors = (
            (
                visitors_by_estate.join(estate_levels, on="estate_id", how="inner")
                if level != "estate"
                else visitors_by_estate
            )
            .group_by(col)
            .agg(pl.col("n").sum())
        )
        out.append(_long(visitors, level, "visitors", "n"))
    return out


def _entry_way_statistics(city: CityFrames, day: date) -> list[pl.DataFrame]:
    """Per estate: people who entered on `day` by face only, by resident QR only, by both."""
    start, end = local_midnight(day, city.timezone), local_midnight(day + timedelta(days=1), city.timezone)
    counts = city.query(ENTRY_WAYS, start=start, end=end)
    ways = {"face_only": "face", "qr_only": "qr", "face_and_qr": "both"}
    return [_long(counts, "estate", f"entry_ways.{way}", column) for column, way in ways.items()]


def population_statistics(city: CityFrames, day: date) -> pl.DataFrame:
    """All statistics of `day` (a local day) for every place at every level, sorted."""
    parts = [
        *_resident_statistics(city),
        *_capacity_statistics(city),
        *_traffic_statistics(local_day_traffic(city, day), city.estate_places()),
        *_entry_way_statistics(city, day),
    ]
    return (
        pl.concat([pl.DataFrame(schema=STATISTIC_SCHEMA), *parts])
        .with_columns(pl.format("{}#{}", "level", "place_id").alias("scope"))
        .sort("level", "place_id", "metric")
    )


def visitors_per_day(city: CityFrames) -> pl.DataFrame:
    """Visitor entries per local day over the events window, per district (for the report's chart)."""
    return (
        city.query(VISITORS_PER_DAY)
        .join(city.estate_places().select("estate_id", "district_id"), on="estate_id", how="left")
        .group_by("local_date", "district_id")
        .agg(pl.col("visitors").sum())
        .with_columns(pl.col("district_id").cast(pl.String))
        .sort("local_date", "district_id")
    )


def to_statistics(stats: pl.DataFrame, day: date) -> list[Statistic]:
    """Domain statistics of `day` for the statistics table."""
    return [
        Statistic(
            scope=row["scope"],
            day=day,
            metric=row["metric"],
            value=row["value"],
            series=tuple(row["series"]) if row["series"] is not None else None,
        )
        for row in stats.select("scope", "metric", "value", "series").iter_rows(named=True)
    ]
