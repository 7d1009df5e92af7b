"""The real Chalice app as a WSGI application, so schemathesis can call it in process.

Requests go through Chalice's own local gateway (`chalice.test.Client`, with the unknown-route
answer of `local_emulator.gateway_responses`), exactly as the other app tests send them. A gate
device signs its requests; a fuzzer cannot, so `sign_gate_as` makes this adapter sign every
``/gate`` request it receives as that gate, over the very method, path, body and device headers
that arrive: the fuzzer's inputs then reach the decisions instead of stopping at 401.
"""

from __future__ import annotations

import http
from urllib.parse import unquote

from gridgate.security.device_auth import SIGNED_DEVICE_HEADERS, sign_request


class ChaliceWsgi:
    def __init__(self, client, sign_gate_as: tuple[str, bytes] | None = None) -> None:
        self._client = client
        self._gate = sign_gate_as

    def __call__(self, environ, start_response):
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw is None:
            query = environ.get("QUERY_STRING", "")
            raw = environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        method = environ["REQUEST_METHOD"]
        path = unquote(raw.split("?", 1)[0])
        if self._gate and path.startswith("/gate/"):
            headers.update({k.lower(): v for k, v in self._signed(method, path, body, headers).items()})
        response = self._client.http.request(method, raw, headers=headers, body=body)
        status = response.status_code
        start_response(f"{status} {http.HTTPStatus(status).phrase}", list(response.headers.items()))
        return [response.body or b""]

    def _signed(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        gate_id, key = self._gate
        device = {name: headers[name.lower()] for name in SIGNED_DEVICE_HEADERS if name.lower() in headers}
        return sign_request(key, gate_id, method, path, body, device)
