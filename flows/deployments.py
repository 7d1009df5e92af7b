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
from typing import Any, cast
from uuid import UUID

from prefect import Flow, serve
from prefect.client.schemas.objects import FlowRun
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.night import STEP_DEPLOYMENT, nightly_night
from flows.nightly_statistics import population_statistics_and_alerts
from flows.reconciliation import nightly_reconciliation
from flows.task_generation import generate_verification_tasks
from gridgate.config import Settings, get_settings


@dataclass(frozen=True)
class Scheduled:
    name: str
    flow: Flow[..., Any]
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


@dataclass(frozen=True)
class DeploymentRun:
    """How a run of a deployment ended (`run_and_wait`)."""

    id: UUID
    name: str
    state: str  # the final state's name: Completed, Failed, ...
    completed: bool
    message: str


def run_and_wait(
    deployment: str, parameters: dict[str, Any] | None = None, timeout: float | None = None
) -> DeploymentRun:
    """Start a run of `deployment` ("flow/deployment") on the server and wait for it (`timeout` s, None: as long as it takes)."""
    from prefect.deployments import run_deployment

    # Prefect's async_dispatch types the call as `FlowRun | Coroutine`; from sync code it is the FlowRun
    run = cast(FlowRun, run_deployment(deployment, parameters=parameters, timeout=timeout))
    state = run.state  # a run waited for has one; "Unknown" only if the server lost it
    return DeploymentRun(
        id=run.id,
        name=run.name,
        state=(state.name if state is not None else None) or "Unknown",
        completed=state is not None and state.is_completed(),
        message=(state.message if state is not None else None) or "",
    )


def build_deployments(settings: Settings | None = None) -> list[RunnerDeployment]:
    tz = (settings or get_settings()).city_timezone
    # Prefect's async_dispatch types `to_deployment` as `RunnerDeployment | Coroutine`; called from
    # sync code it returns the deployment
    return [
        cast(
            RunnerDeployment,
            item.flow.to_deployment(
                name=item.name,
                schedule=Cron(item.cron, timezone=tz) if item.cron else None,
                description=item.description,
                tags=["gridgate", "nightly"],
            ),
        )
        for item in SCHEDULE
    ]


def main(argv: list[str]) -> None:
    serve(*build_deployments(), limit=int(argv[0]) if argv else None)


if __name__ == "__main__":
    main(sys.argv[1:])
