"""Run the three nightly flows once, in the order the schedule runs them (the demo calls this).

Reconciliation first (its findings feed the task lists), then statistics and alerts (whose
alerts get tasks at once), then task generation, which publishes every grid's list.

Each flow starts only when the one before it completed: statistics of a night whose reconciliation
failed would describe a city whose grants were not cleaned up, and task lists built on it would send
grid workers to stale doors. The failed flow has already notified (`flows.notify`); `NightFailed`
names it and the flows that were not started.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flows.city_data import check_report_day, default_day, local_today
from flows.nightly_statistics import population_statistics_and_alerts
from flows.reconciliation import nightly_reconciliation
from flows.task_generation import DEFAULT_REPORT_DIR, generate_verification_tasks
from gridgate.analytics.key_group_alerts import AlertPolicy
from gridgate.analytics.reconciliation_checks import ReconciliationPolicy
from gridgate.config import Settings, get_settings

ORDER = ("reconciliation", "statistics", "tasks")


class NightFailed(RuntimeError):
    """A nightly flow failed; the flows after it in `ORDER` were not started."""

    def __init__(self, failed: str, not_started: list[str], completed: dict) -> None:
        super().__init__(f"nightly flow {failed!r} failed; not started: {', '.join(not_started) or 'none'}")
        self.failed = failed
        self.not_started = not_started
        self.completed = completed


def night_parameters(day: date | None, export_snapshots: bool, snapshots_as_of: date | None) -> tuple[dict, dict]:
    """The parameters of the first flow of a night and of the later ones: one export a night, the
    later flows read the snapshots the reconciliation just exported (the same `as_of`)."""
    as_of = snapshots_as_of or local_today()
    first = dict(day=day, export_snapshots=export_snapshots, snapshots_as_of=as_of)
    return first, dict(first, export_snapshots=False)


def run_nightly(
    settings: Settings | None = None,
    day: date | None = None,
    *,
    export_snapshots: bool = True,
    snapshots_as_of: date | None = None,
    report_dir: Path | None = DEFAULT_REPORT_DIR,
    reconciliation_policy: ReconciliationPolicy | None = None,
    alert_policy: AlertPolicy | None = None,
) -> dict:
    """Run reconciliation, statistics and task generation for local day `day`; returns their summaries.

    The registries are exported to snapshots once, by the reconciliation (unless
    `export_snapshots` is False: then the snapshots as of `snapshots_as_of` are read as they
    are, e.g. seeded by the emulator); statistics and task generation read those snapshots, so
    a night's statistics describe the city as of that export.

    The flows read their settings from the environment (`get_settings()`), like a Prefect
    worker does; `settings`, if given, must be those same settings.
    """
    if settings is not None and settings != get_settings():
        raise ValueError("the flows run with the environment's settings; set GRIDGATE_* before calling")
    day = check_report_day(day or default_day())  # refused before the first flow creates anything
    first, later = night_parameters(day, export_snapshots, snapshots_as_of)
    flows = {
        "reconciliation": lambda: nightly_reconciliation(
            policy=reconciliation_policy or ReconciliationPolicy(), return_state=True, **first
        ),
        "statistics": lambda: population_statistics_and_alerts(
            alert_policy=alert_policy or AlertPolicy(), report_dir=report_dir, return_state=True, **later
        ),
        "tasks": lambda: generate_verification_tasks(report_dir=report_dir, return_state=True, **later),
    }
    summaries: dict = {}
    for position, name in enumerate(ORDER):
        state = flows[name]()
        if not state.is_completed():
            raise NightFailed(name, list(ORDER[position + 1 :]), summaries)
        summaries[name] = state.result()
    return summaries
