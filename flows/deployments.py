"""The nightly schedule: three Prefect deployments with cron schedules in the city's time zone.

``python -m flows.deployments`` serves them against the Prefect server in ``PREFECT_API_URL``
(the emulator's local server): the process stays up and starts each flow on its schedule; runs
can also be started from the Prefect UI. Order of a night: reconciliation at 01:00,
statistics and alerts at 01:30, task generation at 02:30 (after both have written findings).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.reconciliation import nightly_reconciliation
from flows.statistics import population_statistics_and_alerts
from flows.task_generation import generate_verification_tasks
from gridgate.config import Settings, get_settings


@dataclass(frozen=True)
class Scheduled:
    name: str
    flow: object
    cron: str
    description: str


SCHEDULE = (
    Scheduled("nightly", nightly_reconciliation, "0 1 * * *", "cross-check registries, rights and gate logs; act on findings"),
    Scheduled("nightly", population_statistics_and_alerts, "30 1 * * *", "statistics per place and key-group alerts"),
    Scheduled("nightly", generate_verification_tasks, "30 2 * * *", "door-to-door task lists per grid"),
)


def build_deployments(settings: Settings | None = None) -> list[RunnerDeployment]:
    tz = (settings or get_settings()).city_timezone
    return [
        item.flow.to_deployment(
            name=item.name,
            schedule=Cron(item.cron, timezone=tz),
            description=item.description,
            tags=["gridgate", "nightly"],
        )
        for item in SCHEDULE
    ]


def main(argv: list[str]) -> None:
    serve(*build_deployments(), limit=int(argv[0]) if argv else None)


if __name__ == "__main__":
    main(sys.argv[1:])
