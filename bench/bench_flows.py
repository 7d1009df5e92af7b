"""Benchmark of the three nightly flows' compute at city scale.

Cities of 100,000, 1,000,000 and 4,000,000 persons (`local_emulator.synthetic_city`, seed 7)
with 7 days of events (~4 per person per day) are written once to local Parquet files, laid out
and typed like the S3 snapshots; the event days twice (`EVENT_DAYS`: as the flows' own writer
lays them out now, and as the implementation before issue 15 stored them, for ``--baseline``).
Each flow then runs in a FRESH subprocess, which reads the Parquet the way the flow does and
runs the flow's computation:

- reconciliation: every reconciliation check (`gridgate.analytics.reconciliation_checks.reconcile`);
- statistics: statistics for every place, key-group alerts, visitors per day, the HTML report;
- task generation: planning tasks for the night's findings and alerts, and every grid's CSV
  and printable page.

Reported per flow: load seconds (Parquet → frames), compute seconds, and peak memory as the
subprocess's maximum resident set size (`getrusage`; tracemalloc cannot see Arrow's and
polars' native buffers). Storage writes are not part of the compute (they are moto-bound
locally and DynamoDB-bound in AWS). Results: ``bench/results/flows.json``.

Since issue 15 the events are not loaded at all: "load" reads the registry snapshots only, and
each check's SQL question over the event day files is answered by DuckDB (memory limit
``GRIDGATE_ANALYTICS_MEMORY_LIMIT``, default 512MB, spilling to the city's folder) inside
"compute", as is evaluating the facts each flow shares (`CityFrames.shared`). The
implementation before it (events as polars frames) is measured by running this same module
from a checkout of that commit against the same city folders (``--baseline``), each reading
the event files laid out as it wrote them; docs/flows.md puts both side by side. Since the registries are SQL too,
"load" is only the time to name the files: nothing is read before the first question.

Usage: ``python -m bench flows [--sizes=100000,1000000,4000000] [--data-root=.gridgate/bench]
[--baseline=<checkout of the old implementation> [--baseline-sizes=100000,1000000]] [--cap-mb=4096]
[--memory-limit=4000000:2GB] [--repeats=3]``.
With ``--baseline`` each flow runs first from that checkout (its own ``bench.bench_flows``
child) and then from this one, over the same city folder — ``--repeats`` times over at the
compared sizes, so one run carries the spread of a noisy machine — and the speed-ups are
reported (the ratio of the medians, and of each pair);
``--cap-mb`` kills a child whose resident memory passes the cap.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

SIZES = (100_000, 1_000_000, 4_000_000)
HISTORY_DAYS = 7
SEED = 7
#: A fixed "today": the same city and the same events on every run.
TODAY = date(2026, 11, 24)
FLOWS = ("reconciliation", "statistics", "task_generation")
DATA_ROOT = Path(".gridgate/bench")
RESULTS = Path(__file__).resolve().parent / "results" / "flows.json"
TARGET_SECONDS, TARGET_MB = 60.0, 4096
#: DuckDB's memory limit per city size (``GRIDGATE_ANALYTICS_MEMORY_LIMIT`` of the flow, here of
#: the child). 512 MB, the flows' default, holds to 1 M persons; at 4 M persons DuckDB with two
#: threads cannot aggregate the week's (person, estate) pairs in 512 MB or 1 GB (its per-thread
#: hash tables do not spill far enough), so the 4 M city gets 2 GB: the process then stays under
#: the 4 GB cap. A size not listed gets the default. Override with ``--memory-limit=SIZE:LIMIT,...``.
MEMORY_LIMITS = {4_000_000: "2GB"}
#: The event days twice: ``events/`` as the implementation before issue 15 stored them (time
#: order, every id a Parquet dictionary; what a ``--baseline`` checkout reads) and
#: `EVENT_DAYS` as the flows' files are laid out now (`gridgate.adapters.event_files`, written by
#: the flows' own writer). `LAYOUT` names the folder's generation: an older folder is rebuilt.
EVENT_DAYS = "event_days"
LAYOUT = 4


# --- the city on disk (parent process) -----------------------------------------------------------------


def prepare_in_child(persons: int) -> tuple[Path, float]:
    """`prepare` in a subprocess of its own, so this process never holds a city.

    Why: a child started by `subprocess` (vfork, then exec) begins with the parent's peak
    resident size as its own ``ru_maxrss``; a parent that had built the 4 M city (5.4 GB)
    would have every flow's peak read as 5.4 GB, the baseline's too.
    """
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_flows", "--prepare", str(persons), str(DATA_ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    folder, seconds = json.loads(done.stdout.strip().splitlines()[-1])
    return Path(folder), seconds


def prepare(persons: int) -> tuple[Path, float]:
    """Write the city's snapshots and event days to Parquet once; returns (folder, seconds spent)."""
    import pyarrow.parquet as pq

    from gridgate.adapters.parquet_exports import ROWS_PER_ROW_GROUP, write_local_events
    from local_emulator import city_tables
    from local_emulator.synthetic_city import build_city

    folder = DATA_ROOT / f"flows-{persons}"
    ready = folder / "READY"
    if ready.exists() and json.loads(ready.read_text()).get("layout") == LAYOUT:
        return folder, 0.0
    started = time.perf_counter()
    (folder / "events").mkdir(parents=True, exist_ok=True)
    city = build_city(persons, seed=SEED, history_days=HISTORY_DAYS, today=TODAY)
    for name, build in city_tables.CITY_SNAPSHOTS.items():
        pq.write_table(build(city), folder / f"{name}.parquet", compression="zstd", row_group_size=ROWS_PER_ROW_GROUP)
    for day in city.event_days:
        events = city_tables.events_table(city, day)
        pq.write_table(events, folder / "events" / f"{day.isoformat()}.parquet", compression="zstd")
        write_local_events(events, folder / EVENT_DAYS / f"{day.isoformat()}.parquet")
    ready.write_text(
        json.dumps({"persons": persons, "history": [d.isoformat() for d in city.history], "layout": LAYOUT})
    )
    return folder, time.perf_counter() - started


# --- one flow's compute (child process) ---------------------------------------------------------------


def _read_homes(folder: Path, columns: list[str] | None = None):
    """The homes snapshot (only `columns`, if given) as the flows read it: ids dictionary-encoded."""
    import pyarrow.parquet as pq

    from gridgate.adapters.parquet_exports import DICTIONARY_COLUMNS

    return pq.read_table(folder / "homes.parquet", columns=columns, read_dictionary=list(DICTIONARY_COLUMNS["homes"]))


def _city(folder: Path):
    """The city as the flows hand it on: paths of the snapshot and event day files, queried by DuckDB.

    DuckDB gets `GRIDGATE_ANALYTICS_MEMORY_LIMIT` (default 512MB) and 2 threads, as the flows do.
    """
    from gridgate.adapters.sql_engines import DuckDBEngine
    from gridgate.analytics.city_frames import SNAPSHOT_NAMES, CityFrames
    from gridgate.residents.grants import cap_policy

    tables = {name: [str(folder / f"{name}.parquet")] for name in SNAPSHOT_NAMES}
    files = sorted(str(d) for d in (folder / EVENT_DAYS).glob("*.parquet"))
    engine = DuckDBEngine(os.environ.get("GRIDGATE_ANALYTICS_MEMORY_LIMIT", "512MB"), 2, folder / "spill")
    # The whole week of events is in the window: local days TODAY-7 .. TODAY.
    return CityFrames.from_tables(
        TODAY,
        TODAY - timedelta(days=HISTORY_DAYS),
        tables,
        files,
        timezone="Asia/Shanghai",
        cap_policy=cap_policy(),
        engine=engine,
    )


def _reconciliation(folder: Path) -> tuple[float, float, dict]:
    from gridgate.analytics.reconciliation_checks import SHARED_FACTS, ReconciliationPolicy, reconcile

    started = time.perf_counter()
    city = _city(folder)
    loaded = time.perf_counter()
    city = city.shared(folder / "shared", SHARED_FACTS)
    result = reconcile(city, ReconciliationPolicy())
    done = time.perf_counter()
    result.findings.write_parquet(folder / "findings.parquet")
    counts = dict(result.findings.group_by("finding_type").len().sort("finding_type").iter_rows())
    return (
        loaded - started,
        done - loaded,
        {
            "events": city.event_count(),
            "findings": counts,
            "grants_to_revoke": result.grants_to_revoke.height,
            "passes_to_expire": result.passes_to_expire.height,
        },
    )


def _statistics(folder: Path) -> tuple[float, float, dict]:
    from gridgate.analytics.key_group_alerts import SHARED_FACTS as alert_facts
    from gridgate.analytics.key_group_alerts import AlertPolicy, key_group_alerts
    from gridgate.analytics.population_statistics import SHARED_FACTS as statistics_facts
    from gridgate.analytics.population_statistics import (
        population_statistics,
        visitors_per_day,
    )
    from gridgate.analytics.statistics_report import render_report

    started = time.perf_counter()
    city = _city(folder)
    loaded = time.perf_counter()
    # what the statistics flow shares (flows.nightly_statistics.SHARED_FACTS)
    city = city.shared(folder / "shared", statistics_facts + alert_facts)
    day = TODAY - timedelta(days=1)
    stats = population_statistics(city, day)
    alerts = key_group_alerts(city, AlertPolicy())
    report = render_report(day, stats, visitors_per_day(city), alerts)
    done = time.perf_counter()
    alerts.write_parquet(folder / "alerts.parquet")
    counts = dict(alerts.group_by("finding_type").len().sort("finding_type").iter_rows())
    return (
        loaded - started,
        done - loaded,
        {"events": city.event_count(), "statistics": stats.height, "alerts": counts, "report_bytes": len(report)},
    )


def _task_generation(folder: Path) -> tuple[float, float, dict]:
    """Planning and every grid's sheets, from the planned frame as the first night's open tasks.

    What the flow stores and reads back between the two (the tasks' DynamoDB items and the
    domain objects that carry them) is storage, which no flow's figure here includes.
    """
    import polars as pl

    from gridgate.analytics.finding_frames import PLANNED_COLUMNS
    from gridgate.analytics.task_sheet_frames import render_sheets
    from gridgate.analytics.verification_tasks import HOME_COLUMNS, plan_tasks
    from gridgate.domain.model import TaskStatus

    started = time.perf_counter()
    homes = _read_homes(folder, list(HOME_COLUMNS))  # what the flow reads of the snapshot
    open_findings = pl.concat(  # as the flow reads them back (finding_frames.from_findings)
        [
            pl.read_parquet(folder / name, columns=list(PLANNED_COLUMNS))
            for name in ("findings.parquet", "alerts.parquet")
        ]
    )
    loaded = time.perf_counter()
    planned = plan_tasks(open_findings, pl.DataFrame(schema={"finding_id": pl.String, "status": pl.String}), homes)
    open_tasks = planned.with_columns(
        pl.lit(TaskStatus.OPEN.value).alias("status"), pl.lit(None, pl.String).alias("explanation")
    )
    grids = sheet_bytes = 0
    for sheet in render_sheets(open_tasks, TODAY):  # as the flow stores them: one grid at a time
        grids += 1
        sheet_bytes += len(sheet.csv) + len(sheet.html)
    done = time.perf_counter()
    return (
        loaded - started,
        done - loaded,
        {
            "open_findings": open_findings.height,
            "tasks": planned.height,
            "grids": grids,
            "sheet_bytes": sheet_bytes,
        },
    )


_RUNNERS = {"reconciliation": _reconciliation, "statistics": _statistics, "task_generation": _task_generation}


def child(flow: str, folder: Path) -> None:
    load_avg = os.getloadavg()[0]
    load_s, compute_s, outputs = _RUNNERS[flow](folder)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "flow": flow,
                "load_s": round(load_s, 2),
                "compute_s": round(compute_s, 2),
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),  # load + compute, all threads
                "peak_rss_mb": round(usage.ru_maxrss / 1024),  # KiB on Linux
                "machine_load_avg_at_start": round(load_avg, 1),
                "outputs": outputs,
            }
        )
    )


# --- the benchmark (parent process) ---------------------------------------------------------------------


def _rss_mb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), "VmRSS: 0 kB")
    return int(line.split()[1]) // 1024


def run_flow(flow: str, folder: Path, checkout: Path, cap_mb: int | None, memory_limit: str | None = None) -> dict:
    """One flow's compute in a fresh subprocess of `checkout` (this one, or a baseline's).

    With `cap_mb`, the child is killed the moment its resident memory passes the cap (polled
    every 0.1 s) and the run reported as over the limit: "completes within N GB" is then a
    fact, not a reading of the peak afterwards.
    """
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": f"{checkout / 'layers'}{os.pathsep}{checkout}"}
    if memory_limit:
        env["GRIDGATE_ANALYTICS_MEMORY_LIMIT"] = memory_limit
    child_process = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_flows", "--child", flow, str(folder.resolve())],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    over_cap = False
    while child_process.poll() is None:
        if cap_mb is not None and _rss_mb(child_process.pid) > cap_mb:
            child_process.kill()
            over_cap = True
        time.sleep(0.1)
    stdout, stderr = child_process.communicate()
    if over_cap:
        return {"flow": flow, "over_cap_mb": cap_mb, "process_s": round(time.perf_counter() - started, 2)}
    if child_process.returncode != 0:  # reported, so one failure does not lose the whole run
        return {
            "flow": flow,
            "failed": stderr.strip().splitlines()[-1][:500] if stderr.strip() else "no output",
            "process_s": round(time.perf_counter() - started, 2),
        }
    result = json.loads(stdout.strip().splitlines()[-1])
    result["process_s"] = round(time.perf_counter() - started, 2)
    return result


def _print(label: str, result: dict) -> None:
    if "over_cap_mb" in result:
        print(f"  {label:28s} killed: resident memory over {result['over_cap_mb']} MB", flush=True)
        return
    if "failed" in result:
        print(f"  {label:28s} FAILED: {result['failed']}", flush=True)
        return
    print(
        f"  {label:28s} load {result['load_s']:6.1f} s  compute {result['compute_s']:6.1f} s  "
        f"cpu {result['cpu_s']:6.1f} s  peak {result['peak_rss_mb']:6d} MB  "
        f"(machine load {result['machine_load_avg_at_start']})",
        flush=True,
    )


def _spent(run: dict) -> float:
    return run["load_s"] + run["compute_s"]


def _median_spent(runs: list[dict], persons: int, flow: str) -> float | None:
    """The median load + compute of `flow`'s completed runs at `persons` (None: none completed)."""
    spent = [_spent(r) for r in runs if r["persons"] == persons and r["flow"] == flow and "compute_s" in r]
    return statistics.median(spent) if spent else None


def _speedups(runs: list[dict], baseline_runs: list[dict]) -> dict[str, dict]:
    """Per persons and flow: the baseline's median (load + compute) over the current one's, and
    the ratio of each (baseline, current) pair run back to back."""
    out = {}
    for persons, flow in sorted({(r["persons"], r["flow"]) for r in baseline_runs}):
        old, new = _median_spent(baseline_runs, persons, flow), _median_spent(runs, persons, flow)
        if old is None or new is None:
            continue
        pairs = [
            round(_spent(a) / max(_spent(b), 1e-3), 2)
            for a, b in zip(
                (r for r in baseline_runs if (r["persons"], r["flow"]) == (persons, flow)),
                (r for r in runs if (r["persons"], r["flow"]) == (persons, flow)),
                strict=False,
            )
            if "compute_s" in a and "compute_s" in b
        ]
        out[f"{persons}/{flow}"] = {"of_medians": round(old / max(new, 1e-3), 2), "per_pair": pairs}
    return out


def main(argv: list[str]) -> None:
    global DATA_ROOT, RESULTS
    sizes: tuple[int, ...] = SIZES
    baseline: Path | None = None
    baseline_sizes: tuple[int, ...] = ()
    cap_mb: int | None = None
    memory_limits = dict(MEMORY_LIMITS)
    repeats = 1
    for arg in argv:
        if arg.startswith("--baseline="):
            baseline = Path(arg.split("=", 1)[1]).resolve()
        elif arg.startswith("--baseline-sizes="):
            baseline_sizes = tuple(int(s) for s in arg.split("=", 1)[1].split(","))
        elif arg.startswith("--memory-limit="):
            pairs = (pair.split(":", 1) for pair in arg.split("=", 1)[1].split(","))
            memory_limits.update({int(size): limit for size, limit in pairs})
        elif arg.startswith("--repeats="):
            repeats = int(arg.split("=", 1)[1])
        elif arg.startswith("--cap-mb="):
            cap_mb = int(arg.split("=", 1)[1])
        elif arg.startswith("--sizes="):
            sizes = tuple(int(s) for s in arg.split("=", 1)[1].split(","))
        elif arg.startswith("--data-root="):
            DATA_ROOT = Path(arg.split("=", 1)[1])
        elif arg.startswith("--results="):
            RESULTS = Path(arg.split("=", 1)[1])
    runs, baseline_runs = [], []
    for persons in sizes:
        folder, generated = prepare_in_child(persons)
        print(f"city of {persons:,} persons ready ({generated:.0f} s to generate)", flush=True)
        here = Path(__file__).resolve().parent.parent
        compared = baseline is not None and persons in (baseline_sizes or sizes)
        for flow in FLOWS:
            # The baseline first, then this implementation, flow by flow (and `repeats` times
            # over where they are compared): the two see the machine as alike as a shared
            # machine allows, and every ratio is within one run.
            for repeat in range(repeats if compared else 1):
                if compared and baseline is not None:
                    old = {
                        "persons": persons,
                        "implementation": "baseline",
                        "repeat": repeat,
                        **run_flow(flow, folder, baseline, cap_mb),
                    }
                    baseline_runs.append(old)
                    _print(f"{flow} (baseline)", old)
                limit = memory_limits.get(persons, os.environ.get("GRIDGATE_ANALYTICS_MEMORY_LIMIT", "512MB"))
                result = {
                    "persons": persons,
                    "implementation": "current",
                    "repeat": repeat,
                    "duckdb_memory_limit": limit,
                    **run_flow(flow, folder, here, cap_mb, limit),
                }
                runs.append(result)
                _print(flow, result)
    largest = max(sizes)
    scaling = {}
    if len(sizes) > 1:
        smallest = min(sizes)
        for flow in FLOWS:
            small, big = _median_spent(runs, smallest, flow), _median_spent(runs, largest, flow)
            if small is not None and big is not None:
                scaling[flow] = round(big / max(small, 1e-3), 1)
    report = {
        "what": "compute of each nightly flow on a synthetic city, fresh subprocess per flow",
        "history_days": HISTORY_DAYS,
        "seed": SEED,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "target": {"persons": largest, "compute_s": TARGET_SECONDS, "peak_rss_mb": TARGET_MB},
        "runs": runs,
        "baseline": {
            "checkout": str(baseline) if baseline else None,
            "runs": baseline_runs,
            "repeats": repeats,
            "speedup_load_plus_compute": _speedups(runs, baseline_runs),
        },
        "memory_cap_mb": cap_mb,
        "growth_largest_over_smallest_load_plus_compute": scaling,
        "size_ratio": round(largest / min(sizes), 1),
        "meets_target": all(
            r.get("compute_s", float("inf")) <= TARGET_SECONDS and r.get("peak_rss_mb", float("inf")) <= TARGET_MB
            for r in runs
            if r["persons"] == largest
        ),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "--prepare":
        DATA_ROOT = Path(sys.argv[3])
        prepared, spent = prepare(int(sys.argv[2]))
        print(json.dumps([str(prepared), spent]))
    else:
        main(sys.argv[1:])
