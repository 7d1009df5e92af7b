"""The nightly schedule: one scheduled "night" deployment and the three step deployments it runs.

Only the night (`flows.night`) has a cron (01:00, the city's time zone); it runs the steps'
deployments in order (reconciliation, statistics and alerts, task generation) and stops at the
first that fails, so the steps have no schedules of their own. Every deployment can also be
started on its own (Prefect UI, ``gridgate flow run``).

``python -m flows.deployments`` serves them against the Prefect server in ``PREFECT_API_URL``
from this process; the demo registers them on a work pool with a worker instead
(`local_emulator.work_pool`), as a data center does with `flows/prefect.yaml`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.night import STEP_DEPLOYMENT, nightly_night
from flows.reconciliation import nightly_reconciliation
from flows.statistics import population_statistics_and_alerts
from flows.task_generation import generate_verification_tasks
from gridgate.config import Settings, get_settings


@dataclass(frozen=True)
class Scheduled:
    name: str
    flow: object
    cron: str | None  # None: no schedule of its own (a step the night runs)
    description: str


NIGHT = Scheduled("nightly", nightly_night, "0 1 * * *", "the night: the three steps in order, stopping at a failure")
SCHEDULE = (
    NIGHT,
    Scheduled(
        STEP_DEPLOYMENT, nightly_reconciliation, None, "cross-check registries, rights and gate logs; act on findings"
    ),
    Scheduled(STEP_DEPLOYMENT, population_statistics_and_alerts, None, "statistics per place and key-group alerts"),
    Scheduled(STEP_DEPLOYMENT, generate_verification_tasks, None, "door-to-door task lists per grid"),
)


def build_deployments(settings: Settings | None = None) -> list[RunnerDeployment]:
    tz = (settings or get_settings()).city_timezone
    return [
        item.flow.to_deployment(
            name=item.name,
            schedule=Cron(item.cron, timezone=tz) if item.cron else None,
            description=item.description,
            tags=["gridgate", "nightly"],
        )
        for item in SCHEDULE
    ]


def main(argv: list[str]) -> None:
    serve(*build_deployments(), limit=int(argv[0]) if argv else None)


if __name__ == "__main__":
    main(sys.argv[1:])
