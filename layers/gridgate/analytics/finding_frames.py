"""Findings as a frame: one schema for reconciliation findings and key-group alerts.

Every check builds its rows with `finding_rows`, so all findings carry the same columns, an
explanation a grid worker can read, JSON evidence, and an id that is a pure function of the
finding's type and key. The id is what makes re-runs idempotent: the same situation found
again is the same finding, so storage compares instead of adding.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import TypedDict

import polars as pl

from gridgate.domain.model import Finding, Severity, TaskStatus

FINDING_SCHEMA = {
    "finding_id": pl.String,
    "finding_type": pl.String,
    "severity": pl.String,
    "grid_id": pl.String,
    "subject": pl.String,
    "home_id": pl.String,
    "person_id": pl.String,
    "explanation": pl.String,
    "evidence": pl.String,
}


class FindingTarget(TypedDict):
    """What a finding is about, as `finding_rows`' keyword arguments: its case, subject and place."""

    key: pl.Expr
    subject: pl.Expr
    grid_id: pl.Expr
    home_id: pl.Expr | None
    person_id: pl.Expr | None


def finding_id(finding_type: str, key: str) -> str:
    """Deterministic, URL-safe id: the same type and key always give the same finding."""
    return "f-" + hashlib.sha1(f"{finding_type}|{key}".encode()).hexdigest()[:24]


def empty_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDING_SCHEMA)


def about_person_at_home(key: pl.Expr) -> FindingTarget:
    """`finding_rows` arguments for a finding about a person at a home: both, in the home's grid;
    `key` names the case."""
    return FindingTarget(
        key=key,
        subject=pl.format("person#{}", "person_id"),
        grid_id=pl.col("grid_id"),
        home_id=pl.col("home_id"),
        person_id=pl.col("person_id"),
    )


def finding_rows(
    rows: pl.DataFrame,
    finding_type: str,
    severity: Severity,
    *,
    key: pl.Expr,
    subject: pl.Expr,
    grid_id: pl.Expr,
    home_id: pl.Expr | None,
    person_id: pl.Expr | None,
    explanation: pl.Expr,
    evidence: list[str | pl.Expr],
) -> pl.DataFrame:
    """Turn the rows one check selected into findings of one type.

    `key` identifies the situation (e.g. the grant id, or person and home); `evidence` names
    the columns (or expressions) kept as the finding's JSON evidence.
    """
    if rows.is_empty():
        return empty_findings()
    null = pl.lit(None, dtype=pl.String)
    built = rows.select(
        key.cast(pl.String).alias("_key"),
        pl.lit(finding_type).alias("finding_type"),
        pl.lit(severity.value).alias("severity"),
        grid_id.cast(pl.String).alias("grid_id"),
        subject.cast(pl.String).alias("subject"),
        (home_id.cast(pl.String) if home_id is not None else null).alias("home_id"),
        (person_id.cast(pl.String) if person_id is not None else null).alias("person_id"),
        explanation.cast(pl.String).alias("explanation"),
        pl.struct(evidence).struct.json_encode().alias("evidence"),
    )
    ids = pl.Series("finding_id", [finding_id(finding_type, k) for k in built["_key"]], dtype=pl.String)
    return built.with_columns(ids).select(list(FINDING_SCHEMA)).unique("finding_id", keep="first", maintain_order=True)


def to_findings(frame: pl.DataFrame, detected_at: datetime) -> list[Finding]:
    """Domain findings for the repository; the explanation travels inside the evidence."""
    return [
        Finding(
            finding_id=row["finding_id"],
            finding_type=row["finding_type"],
            severity=Severity(row["severity"]),
            grid_id=row["grid_id"],
            subject=row["subject"],
            evidence={"explanation": row["explanation"], **json.loads(row["evidence"])},
            detected_at=detected_at,
            status=TaskStatus.OPEN,
            home_id=row["home_id"],
            person_id=row["person_id"],
        )
        for row in frame.iter_rows(named=True)
    ]


#: What task planning reads of a finding (not its evidence: a task's reason is rendered from the
#: finding itself when its sheet is made).
PLANNED_COLUMNS = ("finding_id", "finding_type", "severity", "grid_id", "home_id", "person_id", "explanation")


def from_findings(findings: list[Finding]) -> pl.DataFrame:
    """Stored findings back as a frame of PLANNED_COLUMNS (what task planning reads)."""
    rows = [
        (
            f.finding_id,
            f.finding_type,
            f.severity.value,
            f.grid_id,
            f.home_id,
            f.person_id,
            str(f.evidence.get("explanation", "")),
        )
        for f in findings
    ]
    return pl.DataFrame(rows, schema={c: FINDING_SCHEMA[c] for c in PLANNED_COLUMNS}, orient="row")
