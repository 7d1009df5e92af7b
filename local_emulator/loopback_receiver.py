"""A webhook receiver on 127.0.0.1 that keeps what it is sent: the demo's and tests' stand-in for a
pager or a subscriber's endpoint, so a posted alert can be shown and asserted on, not assumed."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class LoopbackReceiver:
    """``with LoopbackReceiver() as receiver: ... receiver.url ... receiver.received``."""

    status: int = 204
    #: Statuses to answer first, one per request (e.g. [500, 500]: fail twice, then `status`).
    first_statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        host, port = self._running().server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def _running(self) -> ThreadingHTTPServer:
        if self._server is None:
            raise RuntimeError("the receiver is used outside its `with` block")
        return self._server

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until `count` requests arrived (a hook may post from another thread)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
        return list(self.received)

    def __enter__(self) -> Self:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._arrived:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    status = receiver.first_statuses.pop(0) if receiver.first_statuses else receiver.status
                    receiver._arrived.notify_all()
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):  # keep test and demo output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        server = self._running()
        server.shutdown()
        server.server_close()
