"""Prefect's local server for the emulator: started on loopback, its database under PREFECT_HOME.

The flows then run against it exactly as against a data center's server: deployments with their
cron schedules are registered, every run and artifact is visible in its UI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from local_emulator.server import free_port


@dataclass
class PrefectServer:
    url: str  # the API, e.g. http://127.0.0.1:4200/api
    process: subprocess.Popen

    @property
    def ui_url(self) -> str:
        return self.url.removesuffix("/api")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_prefect_server(log_file: Path, timeout: float = 120.0) -> PrefectServer:
    """Start `prefect server start` on a free loopback port and wait for its health check."""
    port = free_port()
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)
    log = log_file.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    server = PrefectServer(f"http://127.0.0.1:{port}/api", process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited with code {process.returncode}; see {log_file}")
        try:
            urllib.request.urlopen(f"{server.url}/health", timeout=2).close()
            return server
        except OSError:
            time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"prefect server did not answer within {timeout:.0f}s; see {log_file}")
