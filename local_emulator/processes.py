"""Child servers of the emulator (moto, Prefect): wait until one answers, stop it cleanly."""

from __future__ import annotations

import subprocess
import time
import urllib.request


def stop_process(process: subprocess.Popen | None, timeout: float = 20.0) -> None:
    """Terminate a child server, killing it if it does not exit within `timeout`."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_answering(url: str, process: subprocess.Popen, name: str, timeout: float, poll: float = 0.1) -> None:
    """Return once `url` answers; stop the process and raise if it exits or stays silent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(poll)
    stop_process(process)
    raise RuntimeError(f"{name} did not answer on {url} within {timeout:.0f}s")
