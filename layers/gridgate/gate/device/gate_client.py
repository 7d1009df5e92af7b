"""The gate's side of the wire: ask the cloud, and when it cannot be reached, decide locally.

`GateDevice` is what a gate's firmware loop calls for each passage. Online, the cloud decides
and records (its answer is final). When the cloud is unreachable (connection refused, timeout,
5xx), the `OfflineVerifier` decides from the signed snapshot with the same rules and the event
goes to the local `EventBuffer`. The event id is the same either way, so an event the cloud did
record before the connection broke is not stored twice when the buffered copy arrives.

Coming back online, the buffer is uploaded *before* the next decision is asked of the cloud:
otherwise the cloud would judge a pass without the uses it had offline. While offline, each
passage costs one connection attempt (that upload), never two.

Edge matching (an estate configured `FaceMatching.DEVICE`, which its signed snapshot says): every
face is decided here from the snapshot, online or not, and only the decision goes to the cloud, as
an event upload right away; the image never leaves the gate. QR codes still go to the cloud.

Only the Python standard library is used for HTTP: the gate image stays small.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from datetime import datetime

from gridgate.domain.model import AccessMethod, Direction, Outcome
from gridgate.gate.decision import event_to_dict
from gridgate.gate.device.event_buffer import EventBuffer
from gridgate.gate.device.offline_verifier import OfflineVerifier
from gridgate.security.device_auth import (
    HEADER_CAPTURE_KIND,
    HEADER_CAPTURED_AT,
    HEADER_EVENT_ID,
    HEADER_LIVENESS,
    sign_request,
)

logger = logging.getLogger(__name__)


class CloudUnreachable(Exception):
    """No usable answer from the cloud: the gate decides offline."""


class GateCloudClient:
    """Signed HTTP calls from one gate to the cloud API."""

    def __init__(self, base_url: str, gate_id: str, private_key: bytes, *, timeout: float = 3.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.gate_id = gate_id
        self._private_key = private_key
        self._timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str | None = None,
        device_headers: dict[str, str] | None = None,
    ) -> tuple[int, dict]:
        """(status, JSON body) of a signed request; raises `CloudUnreachable` for no answer or a 5xx."""
        headers = sign_request(self._private_key, self.gate_id, method, path, body, device_headers)
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base_url + path, data=body or None, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            if err.code >= 500:
                raise CloudUnreachable(f"cloud answered {err.code}") from err
            return err.code, json.loads(err.read() or b"{}")
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as err:
            raise CloudUnreachable(str(err)) from err

    def download(self, url: str) -> dict:
        """A JSON document from a (presigned) URL; raises `CloudUnreachable`."""
        try:
            with urllib.request.urlopen(url, timeout=self._timeout * 10) as response:
                return json.loads(response.read())
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as err:
            raise CloudUnreachable(str(err)) from err


class GateDevice:
    """One gate: online first, offline fallback, buffered upload. Returns decisions as dicts."""

    def __init__(
        self,
        client: GateCloudClient,
        verifier: OfflineVerifier,
        buffer: EventBuffer,
    ) -> None:
        self._client = client
        self._verifier = verifier
        self._buffer = buffer
        self._offline = False

    # --- passages -----------------------------------------------------------------------------

    def face(self, device_event_id: str, captured_at: datetime, liveness: float, image: bytes, direction: Direction):
        if self._verifier.matches_faces_locally:
            decision = self._verifier.face(device_event_id, captured_at, direction, liveness, image)
            self.flush()  # the decision (never the image) reaches the cloud now, or with the next upload
            return {**decision.as_dict(), "decided": "device"}
        path = "/gate/entry/face" if direction == Direction.IN else "/gate/exit"
        headers = self._device_headers(
            device_event_id, captured_at, liveness, "face" if direction == Direction.OUT else None
        )
        return self._decide(
            path,
            image,
            "image/jpeg",
            headers,
            lambda: self._verifier.face(device_event_id, captured_at, direction, liveness, image),
        )

    def qr_text(self, device_event_id: str, captured_at: datetime, text: str, direction: Direction):
        path = "/gate/entry/qr" if direction == Direction.IN else "/gate/exit"
        body = json.dumps({"text": text}).encode()
        return self._decide(
            path,
            body,
            "application/json",
            self._device_headers(device_event_id, captured_at),
            lambda: self._verifier.qr_text(device_event_id, captured_at, direction, text),
        )

    def _decide(self, path: str, body: bytes, content_type: str, headers: dict, offline) -> dict:
        try:
            if self._offline or self._buffer.count(pending_only=True):
                self._upload_pending()
                self._offline = False
            status, answer = self._client.call("POST", path, body, content_type, headers)
        except CloudUnreachable as unreachable:
            if not self._offline:
                logger.warning("cloud unreachable, deciding offline: %s", unreachable)
            self._offline = True
            return {**offline().as_dict(), "decided": "offline"}
        decision = answer.get("decision")
        if decision is None:
            raise RuntimeError(f"the cloud refused the request ({status}): {answer.get('error')}")
        self._note_pass_use(decision)
        return {**decision, "decided": "online"}

    def _note_pass_use(self, decision: dict) -> None:
        """Tell the offline verifier about a pass use the cloud just counted (its snapshot is older)."""
        if (
            decision["method"] == AccessMethod.VISITOR_PASS.value
            and decision["outcome"] == Outcome.OPEN.value
            and not decision.get("replayed")
        ):
            self._verifier.note_pass_use(decision["pass_id"], decision["event_id"])

    @staticmethod
    def _device_headers(device_event_id: str, captured_at: datetime, liveness: float | None = None, kind=None):
        headers = {HEADER_EVENT_ID: device_event_id, HEADER_CAPTURED_AT: captured_at.isoformat()}
        if liveness is not None:
            headers[HEADER_LIVENESS] = f"{liveness:.4f}"
        if kind:
            headers[HEADER_CAPTURE_KIND] = kind
        return headers

    # --- synchronisation -------------------------------------------------------------------------

    def refresh_snapshot(self, patience_seconds: float = 10.0) -> bool:
        """Fetch this estate's signed snapshot; False (and the old one kept) if the cloud is unreachable
        or is still building one after `patience_seconds` (it answers `snapshot_not_ready` with the
        seconds to wait; the gate asks again at its next refresh otherwise).

        The API answers with a short-lived download URL; the envelope's own signature, checked by
        `OfflineVerifier.load_snapshot`, is what makes it trusted, not the channel.
        """
        give_up = time.monotonic() + patience_seconds
        try:
            while True:
                status, located = self._client.call("GET", "/gate/snapshot")
                if status == 409 and located.get("code") == "snapshot_not_ready":
                    wait = float(located.get("retry_after_seconds") or 1)
                    if time.monotonic() + wait > give_up:
                        return False
                    time.sleep(wait)
                    continue
                if status != 200:
                    raise RuntimeError(f"the cloud refused the snapshot ({status}): {located.get('error')}")
                envelope = self._client.download(located["url"])
                break
        except CloudUnreachable:
            return False
        self._verifier.load_snapshot(envelope)
        return True

    def flush(self) -> int:
        """Upload buffered events now; returns how many were acknowledged (0 if the cloud is away)."""
        try:
            return self._upload_pending()
        except CloudUnreachable:
            return 0

    def _upload_pending(self, batch_size: int = 50) -> int:
        """Upload until nothing is pending; raises `CloudUnreachable` (the rest stays pending)."""
        acknowledged = 0
        while events := self._buffer.pending(batch_size):
            body = json.dumps({"events": [event_to_dict(e) for e in events]}).encode()
            status, answer = self._client.call("POST", "/gate/events", body, "application/json")
            if status != 200 or not answer.get("acknowledged"):
                raise RuntimeError(f"the cloud refused the upload ({status}): {answer}")
            self._buffer.mark_uploaded(answer["acknowledged"])
            acknowledged += len(answer["acknowledged"])
        return acknowledged
