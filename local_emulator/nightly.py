"""The demo's night: the Prefect deployments on a local work pool with a worker, the night run once.

The night deployment (cron 01:00) and its three step deployments are registered on a local
``process`` pool with a worker running (`work_pool.py`), so the local server shows what a data
center schedules and its scheduled runs are executed, not left ``NOT_READY``. Then the night is
started as a run *of its deployment* (the worker executes it and it starts the steps' deployments
in order), against the emulator's tables and snapshots, with two webhook subscribers on loopback
(`events_out_demo.py`: the findings and alerts out). Last, a night for a day that has not
ended shows what an operator gets when one fails: reconciliation fails, the later steps are not
started, and the failure alerts arrive at a webhook receiver on loopback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from local_emulator.prefect_server import PrefectServer
    from local_emulator.synthetic_city import City

#: How long the demo waits for a night run (the worker starts each step as a subprocess).
NIGHT_TIMEOUT_SECONDS = 600


class NightDemo(Protocol):
    """What the night needs of the demo (`local_emulator.demo.Demo`, which imports this module)."""

    work_dir: Path
    cleanups: list[Callable[[], None]]
    prefect: PrefectServer | None
    city: City

    def say(self, text: str = "") -> None: ...


def run_night(demo: NightDemo) -> None:
    """Demo step: start Prefect's server, a pool and a worker, register the deployments, run the night."""
    from local_emulator.loopback_receiver import LoopbackReceiver
    from local_emulator.prefect_server import start_prefect_server

    server = start_prefect_server(demo.work_dir / "prefect-server.log")
    demo.cleanups.append(server.stop)
    demo.prefect = server
    os.environ["PREFECT_API_URL"] = server.url
    demo.say(f"Prefect server: {server.ui_url} (API {server.url})")

    receiver = LoopbackReceiver().__enter__()
    demo.cleanups.append(lambda: receiver.__exit__(None, None, None))
    os.environ["GRIDGATE_FAILURE_WEBHOOK_URL"] = receiver.url  # read by the worker's flow runs
    os.environ["GRIDGATE_PREFECT_UI_URL"] = server.ui_url

    from prefect.client.schemas.schedules import CronSchedule

    from flows.deployments import NIGHT, build_deployments, run_and_wait
    from flows.night import ORDER, step_deployment, step_runs
    from local_emulator import events_out_demo
    from local_emulator.work_pool import WORK_POOL, Worker, create_work_pool, register_on_pool

    demo.say("findings and alerts out (signed webhooks):")
    subscribed = events_out_demo.subscribe(list(demo.city.places.district_ids), demo.say, demo.cleanups)
    create_work_pool(server.url)  # the worker starts after the subscriptions: its runs may call loopback
    worker = Worker(server.url, demo.work_dir / "prefect-worker.log")
    demo.cleanups.append(worker.stop)  # after the server's: cleanups run in reverse, the worker stops first
    demo.say(f"  work pool {WORK_POOL} (process), worker pid {worker.process.pid}")
    for deployment in build_deployments():
        register_on_pool(deployment)
        schedule = deployment.schedules[0].schedule if deployment.schedules else None
        when = (
            f"{schedule.cron} ({schedule.timezone})" if isinstance(schedule, CronSchedule) else "started by the night"
        )
        demo.say(f"  deployment {deployment.flow_name}/{deployment.name}: {when}")

    night = f"{NIGHT.flow.name}/{NIGHT.name}"
    run = run_and_wait(night, timeout=NIGHT_TIMEOUT_SECONDS)
    demo.say(f"  {night} run {run.name}: {run.state}")
    for step, step_run in step_runs(run.id).items():
        demo.say(f"    {step}: run {step_run.name} of {step_deployment(step)}: {step_run.state.name}")
    if not run.completed:
        raise RuntimeError(f"the night did not complete ({run.state}); worker log: {worker.log_file}")
    events_out_demo.report(subscribed, demo.say)

    from gridgate import clock

    unfinished = clock.today() + timedelta(days=1)
    failed = run_and_wait(night, parameters={"day": unfinished.isoformat()}, timeout=NIGHT_TIMEOUT_SECONDS)
    started = step_runs(failed.id)
    demo.say(
        f"  a night for {unfinished} (not over yet): {failed.state}; steps started: "
        f"{', '.join(f'{s} {r.state.name}' for s, r in started.items())}; not started: "
        f"{', '.join(s for s in ORDER if s not in started) or 'none'}"
    )
    alerts = [r.json() for r in receiver.wait_for(2, timeout=30)]
    demo.say(
        f"  failure webhook {receiver.url} received {len(alerts)} alerts: "
        f"{', '.join(sorted(a['flow'] + ' ' + a['state'] for a in alerts))}"
    )
