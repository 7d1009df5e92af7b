"""Serve the Chalice app over HTTP on loopback, as API Gateway would: for the pages and demos.

    python -m local_emulator.app_server --port 8000

Run with the emulator's environment (`MotoServer.environment()` plus the keyring file) so the
app talks to moto's server. This is Chalice's own local gateway (what `chalice local` runs),
started in-process so a test or the demo can choose the port and stop it cleanly.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from gridgate import clock

FUNCTIONS_DIR = Path(__file__).resolve().parents[1] / "functions"


def serve(host: str, port: int) -> None:
    sys.path.insert(0, str(FUNCTIONS_DIR))
    import app as app_module
    from chalice.config import Config
    from chalice.local import create_local_server

    from local_emulator.gateway_responses import install as install_gateway_responses

    install_gateway_responses()
    config = Config.create(chalice_stage="local", app_name="gridgate", project_dir=str(FUNCTIONS_DIR))
    with clock.pinned(_clock_source()):
        create_local_server(app_module.app, config, host, port).serve_forever()


#: A file holding seconds to add to the real time (the page tests move the app's clock with it,
#: e.g. past an access token's expiry, while the app keeps running in its own process).
CLOCK_OFFSET_FILE = "GRIDGATE_EMULATOR_CLOCK_OFFSET_FILE"


def _clock_source():
    """The app's clock: the real time, plus the offset in `CLOCK_OFFSET_FILE` if one is set."""
    path = os.environ.get(CLOCK_OFFSET_FILE)
    if not path:
        return clock.system_now
    offset_file = Path(path)

    def shifted() -> datetime:
        text = offset_file.read_text().strip() if offset_file.exists() else ""
        return clock.system_now() + timedelta(seconds=float(text or 0))

    return shifted


@contextmanager
def running_app_server(port: int, env: dict[str, str], host: str = "127.0.0.1", timeout: float = 60.0) -> Iterator[str]:
    """The app served from a child process with `env`; yields its base URL and stops it after."""
    log = tempfile.TemporaryFile()  # the request log; a pipe nobody reads would fill and block
    process = subprocess.Popen(
        [sys.executable, "-m", "local_emulator.app_server", "--host", host, "--port", str(port)],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"app server exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                urllib.request.urlopen(f"{url}/pages/grid-worker", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"app server did not answer on {url} within {timeout:.0f}s") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the gridgate API and pages on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    serve(args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
