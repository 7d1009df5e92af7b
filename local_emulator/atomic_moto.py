"""moto's server with DynamoDB's write atomicity: ``python -m local_emulator.atomic_moto -H host -p port``.

DynamoDB applies each conditional write and each transaction atomically: two concurrent
``granted_count < cap`` increments on one item can never both succeed. moto's threaded server
does not give that guarantee: it evaluates a condition and applies the write in Python with no
lock, and a cancelled transaction restores whole-table snapshots taken before it started, which
can wipe a concurrent commit. Measured with 50 concurrent transactional grant requests against a
home with room for 3: plain moto's server ended with more than 3 grants in 11 of 20 runs (one
conditional UpdateItem per request: 1 of 10); this launcher: 0 of 30.

This launcher runs the very same moto WSGI application and handles DynamoDB requests one at a
time (other services stay concurrent). Clients still race over HTTP exactly as against AWS, so
a design that checks in the client and then writes still fails here; only moto's own missing
atomicity is taken away.
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

from local_emulator.moto_speedups import install as install_speedups

_DYNAMODB_TARGET_PREFIX = "DynamoDB_"


class SerialisedDynamoDB:
    """WSGI middleware: one DynamoDB request inside moto at a time, the response fully built under the lock."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith(_DYNAMODB_TARGET_PREFIX):
            with self._lock:
                return list(self._app(environ, start_response))
        return self._app(environ, start_response)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    install_speedups()  # behaviour-preserving seeding speed fixes, see local_emulator.moto_speedups
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        SerialisedDynamoDB(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
