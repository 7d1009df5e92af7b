"""The demo's night: the Prefect deployments registered on a local Prefect server, the flows run once.

The three deployments (reconciliation, statistics and alerts, task generation) are applied with
their cron schedules on a local ``process`` work pool with a worker running (`work_pool.py`), so
the local server shows what a data center schedules and its scheduled runs are executed, not left
``NOT_READY``; then one night is run in schedule order, against the emulator's tables and snapshots.
"""

from __future__ import annotations

import os


def run_night(demo) -> None:
    """Demo step: start Prefect's server, register the schedules, run the nightly flows once."""
    from local_emulator.prefect_server import start_prefect_server

    server = start_prefect_server(demo.work_dir / "prefect-server.log")
    demo.cleanups.append(server.stop)
    demo.prefect = server
    os.environ["PREFECT_API_URL"] = server.url
    demo.say(f"Prefect server: {server.ui_url} (API {server.url})")

    from prefect.logging.handlers import APILogWorker

    from flows.deployments import build_deployments
    from flows.run_all import run_nightly

    from local_emulator.work_pool import WORK_POOL, Worker, create_work_pool, register_on_pool

    create_work_pool(server.url)
    worker = Worker(server.url, demo.work_dir / "prefect-worker.log")
    demo.cleanups.append(worker.stop)  # after the server's: cleanups run in reverse, the worker stops first
    demo.say(f"  work pool {WORK_POOL} (process), worker pid {worker.process.pid}")
    for deployment in build_deployments():
        register_on_pool(deployment)
        demo.say(f"  deployment {deployment.flow_name}/{deployment.name}: {deployment.schedules[0].schedule.cron} "
                 f"({deployment.schedules[0].schedule.timezone})")
    summaries = run_nightly()
    # the flows' last log lines reach the server now, not at exit after the demo has stopped it
    APILogWorker.drain_all(timeout=10)
    for flow_name, summary in summaries.items():
        demo.say(f"  {flow_name}: {_brief(summary)}")


def _brief(summary) -> str:
    if isinstance(summary, dict):
        return ", ".join(f"{k}={_brief(v)}" for k, v in summary.items() if not isinstance(v, (list, bytes)))
    return str(summary)
