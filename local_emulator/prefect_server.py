"""Prefect's local server for the emulator: started on loopback, its database under PREFECT_HOME.

The flows then run against it exactly as against a data center's server: deployments with their
cron schedules are registered, every run and artifact is visible in its UI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from local_emulator.processes import stop_process, wait_until_answering
from local_emulator.server import free_port


@dataclass
class PrefectServer:
    url: str  # the API, e.g. http://127.0.0.1:4200/api
    process: subprocess.Popen

    @property
    def ui_url(self) -> str:
        return self.url.removesuffix("/api")

    def stop(self) -> None:
        stop_process(self.process)


def start_prefect_server(log_file: Path, timeout: float = 120.0) -> PrefectServer:
    """Start `prefect server start` on a free loopback port and wait for its health check."""
    port = free_port()
    # The UI is a browser app that calls the API; unless told, it calls the default port 4200
    # ("Can't connect to Server API at http://127.0.0.1:4200/api"), not the free port taken here.
    env = {
        **os.environ,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api",
    }
    env.pop("PREFECT_API_URL", None)
    log = log_file.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    server = PrefectServer(f"http://127.0.0.1:{port}/api", process)
    wait_until_answering(f"{server.url}/health", process, f"prefect server (log: {log_file})", timeout, poll=0.5)
    return server
