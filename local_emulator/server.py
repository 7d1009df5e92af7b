"""Start and stop moto's server on loopback and point boto3 and PynamoDB at it.

moto's server is a real HTTP endpoint, so the functions, flows and tests talk to it through the
same botocore code paths they use against AWS. `AWS_ENDPOINT_URL_DYNAMODB` / `_S3` are read by
botocore itself; nothing in gridgate knows it is talking to an emulator.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from local_emulator.processes import stop_process, wait_until_answering

#: Services the emulator routes to moto (KMS and Secrets Manager stay in reach for infra code).
EMULATED_SERVICES = ("DYNAMODB", "S3", "SECRETS_MANAGER", "KMS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MotoServer:
    host: str
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        """Variables that route boto3/PynamoDB to this server with dummy credentials."""
        env = {f"AWS_ENDPOINT_URL_{svc}": self.url for svc in EMULATED_SERVICES}
        env.update(
            AWS_ACCESS_KEY_ID=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            AWS_SECRET_ACCESS_KEY=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        )
        return env

    def stop(self) -> None:
        stop_process(self.process, timeout=10)


def start_moto_server(host: str = "127.0.0.1", port: int | None = None, timeout: float = 30.0) -> MotoServer:
    """Start moto's server (with DynamoDB's write atomicity, see `atomic_moto`) and wait until it answers."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "local_emulator.atomic_moto", "-H", host, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = MotoServer(host, port, process)
    wait_until_answering(f"{server.url}/moto-api/", process, "moto_server", timeout)
    return server


@contextmanager
def running_moto_server(**kwargs) -> Iterator[MotoServer]:
    """A moto server for the duration of the block, with this process's environment pointed at it."""
    server = start_moto_server(**kwargs)
    saved = {k: os.environ.get(k) for k in server.environment()}
    os.environ.update(server.environment())
    try:
        yield server
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()
