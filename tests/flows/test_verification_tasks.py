"""Task planning (no duplicates, next attempt after "not reachable") and the walking order."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import polars as pl
from tiny_city import TinyCity

from gridgate import clock
from gridgate.analytics.finding_frames import FINDING_SCHEMA, finding_id
from gridgate.analytics.verification_tasks import plan_tasks, task_id, to_tasks
from gridgate.domain.model import VerificationTask
from gridgate.grid_work.task_sheets import to_csv, to_html

NO_TASKS = pl.DataFrame(schema={"finding_id": pl.String, "status": pl.String})


def homes() -> pl.DataFrame:
    c = TinyCity()
    c.home("H-B2-F3", "E1", building="B2", floor=3)
    c.home("H-B1-F10", "E1", building="B1", floor=10)
    c.home("H-B1-F2", "E1", building="B1", floor=2)
    c.home("H-E0", "E0", building="B9", floor=1)
    c.home("H-G2", "E7", grid_id="G2")
    return pl.from_arrow(c.table("homes"))


def finding(kind: str, severity: str, home: str, grid: str = "G1") -> dict:
    return {
        "finding_id": finding_id(kind, home),
        "finding_type": kind,
        "severity": severity,
        "grid_id": grid,
        "subject": f"home#{home}",
        "home_id": home,
        "person_id": None,
        "explanation": f"{kind} at {home}",
        "evidence": "{}",
    }


def findings(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=FINDING_SCHEMA)


OPEN = findings(
    finding("resident_not_seen", "medium", "H-B2-F3"),
    finding("grants_over_cap", "high", "H-B1-F10"),
    finding("grantee_registered_elsewhere", "low", "H-B1-F2"),
    finding("resident_not_seen", "medium", "H-B1-F10"),
    finding("resident_not_seen", "medium", "H-E0"),
    finding("grants_over_cap", "high", "H-G2", grid="G2"),
    finding("expired_pass_active", "low", "H-B1-F2"),  # resolved by the flow: no visit
)


def test_plan_covers_every_finding_needing_a_visit_once():
    planned = plan_tasks(OPEN, NO_TASKS, homes())
    assert planned.height == 6
    assert "expired_pass_active" not in planned["finding_type"].to_list()
    assert planned["task_id"].n_unique() == 6
    assert all(t.endswith("-1") for t in planned["task_id"])


def test_replanning_never_duplicates_an_open_task():
    planned = plan_tasks(OPEN, NO_TASKS, homes())
    existing = planned.select("finding_id", pl.lit("open").alias("status"))
    assert plan_tasks(OPEN, existing, homes()).is_empty()


def test_a_visit_that_found_nobody_gets_a_next_attempt():
    planned = plan_tasks(OPEN, NO_TASKS, homes())
    first = planned.row(0, named=True)
    existing = planned.select("finding_id", pl.lit("open").alias("status")).with_columns(
        pl.when(pl.col("finding_id") == first["finding_id"]).then(pl.lit("done")).otherwise("status").alias("status")
    )
    [again] = plan_tasks(OPEN, existing, homes()).to_dicts()
    assert again["finding_id"] == first["finding_id"] and again["task_id"] == task_id(first["finding_id"], 2)


def test_grid_list_is_ordered_by_priority_then_walking_order():
    tasks = to_tasks(plan_tasks(OPEN, NO_TASKS, homes()), datetime(2026, 11, 21, tzinfo=UTC))
    g1 = [t for t in tasks if t.grid_id == "G1"]
    rows = list(csv.DictReader(io.StringIO(to_csv(g1))))
    assert [r["home_id"] for r in rows] == [
        "H-B1-F10",  # priority 1 (high)
        "H-E0",  # priority 2: estate E0 before E1
        "H-B1-F10",  # priority 2, E1 building B1 floor 10 ...
        "H-B2-F3",  # ... before building B2 (floors sort as numbers within a building)
        "H-B1-F2",  # priority 3
    ]
    assert [r["order"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0]["finding_type"] == "grants_over_cap" and rows[0]["summary"] == "grants_over_cap at H-B1-F10"


def test_floors_sort_numerically():
    def task(floor: int) -> VerificationTask:
        return VerificationTask(
            task_id=f"t{floor}",
            grid_id="G1",
            finding_id="f",
            priority=2,
            walking_order=("E1", "B1", "1", floor, "01"),
            home_id=f"H{floor}",
            summary="",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )

    rows = list(csv.DictReader(io.StringIO(to_csv([task(10), task(2), task(9)]))))
    assert [r["floor"] for r in rows] == ["2", "9", "10"]


def test_printable_page_lists_the_tasks_in_order_without_personal_data():
    tasks = [t for t in to_tasks(plan_tasks(OPEN, NO_TASKS, homes()), clock.now()) if t.grid_id == "G1"]
    page = to_html("G1", tasks, date(2026, 11, 21))
    assert page.startswith("<!doctype html>") and "@media print" in page
    assert page.index("H-B1-F10") < page.index("H-E0") < page.index("H-B2-F3") < page.index("H-B1-F2")
    assert page.count("&#9744; 无法核实") == 5 and '<html lang="zh-CN">' in page
    assert page.count("&#9744; not reachable") == 0
    assert to_html("G1", tasks, date(2026, 11, 21), locale="en").count("&#9744; not reachable") == 5
    assert "<script" not in page


def test_no_grid_worker_is_sent_to_the_door_for_a_correction_alert():
    alerts = findings(
        finding("correction_unusual_hours", "high", "H-B2-F3"),
        finding("correction_absent", "high", "H-B1-F10"),
        finding("living_alone_no_exit", "high", "H-B1-F2"),  # welfare alerts still send a visit
    )
    planned = plan_tasks(alerts, NO_TASKS, homes())
    assert planned["finding_id"].to_list() == [finding_id("living_alone_no_exit", "H-B1-F2")]
