"""`gridgate seed` then `gridgate flow run` then `gridgate stats export`: the data-center chain."""

from __future__ import annotations

import csv

from gridgate.adapters.tables import HomeTable, PersonTable
from gridgate_cli.commands import app


def test_seed_run_statistics_flow_and_export(runner, clean_tables, prefect_server, tmp_path):
    seeded = runner.invoke(app, ["seed", "--persons", "300", "--days", "2"])
    assert seeded.exit_code == 0, seeded.output
    assert PersonTable.count() == 300 and HomeTable.count() > 0

    ran = runner.invoke(app, ["flow", "run", "population-statistics"])
    assert ran.exit_code == 0, ran.output

    out = tmp_path / "districts.csv"
    exported = runner.invoke(app, ["stats", "export", str(out), "--level", "district"])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    owners = [float(r["value"]) for r in rows if r["metric"] == "residents.total"]
    assert owners and 0 < sum(owners) <= 300


def test_unknown_flow_and_bad_day_are_refused(runner):
    unknown = runner.invoke(app, ["flow", "run", "nightly-everything"])
    assert unknown.exit_code == 1 and "未知流程" in unknown.output
    bad_day = runner.invoke(app, ["flow", "run", "population-statistics", "--day", "31/12"])
    assert bad_day.exit_code == 1 and "不是日期" in bad_day.output


def test_flow_list_names_the_three_nightly_flows(runner):
    listing = runner.invoke(app, ["flow", "list"])
    assert listing.exit_code == 0
    for name in ("nightly-night", "nightly-reconciliation", "population-statistics", "verification-task-generation"):
        assert f"\n{name}\n" in f"\n{listing.output}"  # the whole name, on a line of its own
    assert "夜间总流程" in listing.output and "the night" not in listing.output  # each flow described in Chinese


def test_a_day_that_has_not_ended_or_is_past_retention_is_refused_and_creates_nothing(runner, clean_tables):
    from datetime import timedelta

    from gridgate import clock
    from gridgate.adapters.tables import (
        FindingTable,
        StatisticTable,
        VerificationTaskTable,
    )
    from gridgate.config import get_settings

    today = clock.today()
    oldest = today - timedelta(days=get_settings().event_retention_days)
    for day in (today + timedelta(days=31), today, oldest - timedelta(days=1)):
        for flow_name in ("population-statistics", "nightly-reconciliation", "verification-task-generation"):
            refused = runner.invoke(app, ["flow", "run", flow_name, "--day", day.isoformat()])
            assert refused.exit_code == 1, refused.output
            assert "尚未结束" in refused.output or "保留期" in refused.output, refused.output
        exported = runner.invoke(app, ["stats", "export", "/tmp/never.csv", "--day", day.isoformat()])
        assert exported.exit_code == 1, exported.output
    assert FindingTable.count() == StatisticTable.count() == VerificationTaskTable.count() == 0


def test_seed_refuses_to_overwrite_a_city_without_force(runner, clean_tables):
    assert runner.invoke(app, ["seed", "--persons", "20", "--days", "0"]).exit_code == 0
    again = runner.invoke(app, ["seed", "--persons", "20", "--days", "0"])
    assert again.exit_code == 1 and "--force" in again.output and "已有城市" in again.output
    assert PersonTable.count() == 20
    forced = runner.invoke(app, ["seed", "--persons", "20", "--days", "0", "--seed", "8", "--force"])
    assert forced.exit_code == 0, forced.output
