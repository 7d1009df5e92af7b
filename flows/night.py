"""The night as one scheduled deployment: reconciliation, then statistics and alerts, then task lists.

Three independent crons (01:00, 01:30, 02:30) cannot express "only after the one before it
completed": on a Prefect server a failed or late reconciliation would be followed by statistics
of a city whose grants were not cleaned up, and by task lists that send grid workers to stale
doors. So only this flow is scheduled (01:00, `flows.deployments.NIGHT`); it starts each step as
a run *of that step's deployment* (`run_deployment`, linked to this run as a subflow), waits
for it, and starts the next only when it completed. A failed step has already notified
(its ``on_failure`` hook); this run then fails too (`NightFailed`), and notifies as well, naming
the steps that were not started.

Each step runs wherever its deployment's work pool puts it (a process on the demo's worker, a
container on a data center's), so this flow itself stays small and holds no city in memory.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from prefect import Flow, flow, get_run_logger
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment

from flows.flow_metrics import record_flow_end
from flows.nightly_statistics import population_statistics_and_alerts
from flows.notify import notify_failure
from flows.reconciliation import nightly_reconciliation
from flows.run_all import ORDER, NightFailed, night_parameters
from flows.task_generation import generate_verification_tasks

#: The deployment of every step, in `ORDER` (names as `flows.deployments` registers them).
STEP_FLOWS: dict[str, Flow[..., Any]] = {
    "reconciliation": nightly_reconciliation,
    "statistics": population_statistics_and_alerts,
    "tasks": generate_verification_tasks,
}
STEP_DEPLOYMENT = "nightly"
#: How often the night asks the server whether a step has finished.
POLL_SECONDS = 2


def step_deployment(step: str) -> str:
    return f"{STEP_FLOWS[step].name}/{STEP_DEPLOYMENT}"


@flow(name="nightly-night", on_completion=[record_flow_end], on_failure=[notify_failure, record_flow_end])
def nightly_night(day: date | None = None, export_snapshots: bool = True, snapshots_as_of: date | None = None) -> dict:
    """Run the night's three deployments in order; returns each step's run id and final state.

    `day` is passed on as given (None: each step reports on yesterday); each step checks it
    itself, so a day that may not be reported on fails the reconciliation and stops the night.
    """
    logger = get_run_logger()
    first, later = night_parameters(day, export_snapshots, snapshots_as_of)
    runs: dict = {}
    for position, step in enumerate(ORDER):
        run = cast(  # run_deployment is sync inside a sync flow; its type also names the async form
            FlowRun,
            run_deployment(
                step_deployment(step),
                parameters=first if position == 0 else later,
                timeout=None,
                poll_interval=POLL_SECONDS,
            ),
        )
        state = run.state
        logger.info("%s: run %s %s", step, run.id, state.name if state else "unknown")
        if state is None or not state.is_completed():
            raise NightFailed(step, list(ORDER[position + 1 :]), runs)
        runs[step] = {"flow_run_id": str(run.id), "state": state.name}
    return runs


def step_runs(night_run_id) -> dict:
    """The runs a night started, by step (`ORDER`): each a subflow of the night and a run of its
    step's deployment. A step missing from the answer was not started."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId, FlowRunFilterParentFlowRunId

    found = {}
    with get_client(sync_client=True) as client:
        for step in ORDER:
            deployment = client.read_deployment_by_name(step_deployment(step))
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[night_run_id]),
                    deployment_id=FlowRunFilterDeploymentId(any_=[deployment.id]),
                )
            )
            if runs:
                found[step] = runs[0]
    return found
