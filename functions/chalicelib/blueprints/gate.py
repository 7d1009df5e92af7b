"""Gate devices' endpoints: face and QR entry, exit capture, offline upload, offline snapshot.

Every request is signed by the gate's own key (`gridgate.security.device_auth`); the estate a gate
acts for is read from its gate record. The decision itself is made in
`gridgate.services.gate_decision`; this module only turns HTTP into a `DeviceEvent` and back.

The signature, gate and timestamp are checked before any work. The nonce is claimed where the
request takes effect: the upload and the snapshot claim it at once; the three decisions (face and
QR entry, exit) leave it to the one write that records the decision, saving a round trip per
passage, so a replayed decision is found there, refused 401 and stores nothing. A request refused
400 for its device headers has no effect, so its nonce stays unclaimed (sending it again gets
the same 400).

Answers: 200 with ``{"decision": {...}}`` for open / deny / recorded; 400 or 413 when the request
itself was unusable, 403 when an entry-only gate reports an exit or an exit-only gate asks to
open (the decision, a deny, is still recorded and returned under ``"decision"``);
401 when the caller is not a trusted gate (nothing recorded, nothing opened). Logs carry event
ids, gate ids, codes and scores, never a person's id or name (the event row holds those).
"""

from __future__ import annotations

import re
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from aws_lambda_powertools import Logger
from chalice import Blueprint, Response
from gridgate.adapters import ops_metrics
from gridgate.clock import now as city_now
from gridgate.config import get_settings
from gridgate.domain.model import Direction
from gridgate.security.device_auth import (
    HEADER_CAPTURE_KIND,
    HEADER_CAPTURED_AT,
    HEADER_EVENT_ID,
    HEADER_LIVENESS,
    DeviceAuthError,
)
from gridgate.services.gate_decision import (
    INPUT_REASONS,
    DeviceEvent,
    GateDecision,
    Reason,
)
from gridgate.services.offline_uploads import UploadRefused

from chalicelib.errors import ApiError
from chalicelib.json_body import parse_json

bp = Blueprint(__name__)
logger = Logger(service="gridgate-gate")

IMAGE_TYPES = ["image/jpeg", "image/png", "application/octet-stream"]
_DEVICE_EVENT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: A live request reports a passage that just happened; older ones come through the offline upload.
_LIVE_CAPTURE_MAX_AGE = timedelta(minutes=10)


#: Decisions answered with an error status (the deny is still recorded and returned): an unusable
#: request, and a gate asking for the direction it is not registered for.
_ERROR_STATUS = {
    **{reason.value: 400 for reason in INPUT_REASONS},
    Reason.IMAGE_TOO_LARGE.value: 413,
    Reason.WRONG_DIRECTION.value: 403,
}


@lru_cache(maxsize=1)
def _gate_services():
    """Built once per warm function: authenticator, facts and their caches live across requests."""
    from gridgate.services.gate_facts import build_gate_services

    return build_gate_services(get_settings())


@contextmanager
def _untrusted_refused():
    """A request not from a trusted gate, or one already received, is answered 401 and has no effect."""
    try:
        yield
    except DeviceAuthError as refused:
        logger.warning("gate request refused", extra={"code": refused.code, "path": bp.current_request.path})
        raise ApiError(401, refused.code, refused.message) from refused


def _request(*, claim_nonce: bool = True):
    """The request, its body and its gate. `claim_nonce=False`: the caller's write claims the nonce."""
    request = bp.current_request
    body = request.raw_body or b""
    limit = get_settings().gate_max_upload_bytes
    if len(body) > limit:
        logger.warning("upload refused", extra={"code": "payload_too_large", "bytes": len(body)})
        raise ApiError(413, "payload_too_large", f"the body is {len(body)} bytes; the limit is {limit}")
    authenticator = _gate_services().authenticator
    check = authenticator.authenticate if claim_nonce else authenticator.verify
    with _untrusted_refused():
        gate = check(request.method, request.path, request.headers, body)
    return request, body, gate


#: When this thread's decision request arrived (`_answer` emits the decision's latency from it).
_arrival = threading.local()


def _decision_request(direction: Direction):
    """A decision's request, body and device event, and the decider that claims its nonce."""
    _arrival.started = time.perf_counter()
    request, body, gate = _request(claim_nonce=False)
    device = _device_event(request, gate, direction)
    return request, body, device, _gate_services().decider(gate.nonce)


def _device_event(request, gate, direction: Direction) -> DeviceEvent:
    headers = request.headers
    device_event_id = headers.get(HEADER_EVENT_ID.lower(), "")
    if not _DEVICE_EVENT_ID.match(device_event_id):
        raise ApiError(400, "bad_device_event_id", f"{HEADER_EVENT_ID} must be 1-64 of [A-Za-z0-9_.-]")
    try:
        captured_at = datetime.fromisoformat(headers.get(HEADER_CAPTURED_AT.lower(), ""))
    except ValueError as err:
        raise ApiError(400, "bad_captured_at", f"{HEADER_CAPTURED_AT} must be an ISO 8601 time") from err
    if captured_at.tzinfo is None:
        raise ApiError(400, "bad_captured_at", f"{HEADER_CAPTURED_AT} must carry a UTC offset")
    now = city_now()
    window = timedelta(seconds=get_settings().gate_request_window_seconds)
    if not now - _LIVE_CAPTURE_MAX_AGE <= captured_at <= now + window:
        raise ApiError(400, "bad_captured_at", "a live request must report a passage of the last 10 minutes")
    return DeviceEvent(
        gate=gate.gate,
        device_event_id=device_event_id,
        captured_at=captured_at.astimezone(timezone.utc),
        direction=direction,
        liveness=_liveness(headers.get(HEADER_LIVENESS.lower())),
    )


def _liveness(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    try:
        score = float(text)
    except ValueError as err:
        raise ApiError(400, "bad_liveness_score", f"{HEADER_LIVENESS} must be a number in [0, 1]") from err
    if not 0.0 <= score <= 1.0:
        raise ApiError(400, "bad_liveness_score", f"{HEADER_LIVENESS} must be a number in [0, 1]")
    return score


def _answer(decision: GateDecision) -> Response:
    body = decision.as_dict()
    logger.info(
        "gate decision",
        extra={
            "event_id": body["event_id"],
            "outcome": body["outcome"],
            "reason": body["reason"],
            "method": body["method"],
            "direction": body["direction"],
            "registry": body["registry"],
            "score": body["score"],
            "right": body["right"],
            "replayed": body["replayed"],
        },
    )
    ops_metrics.gate_decision(body["outcome"], body["reason"], (time.perf_counter() - _arrival.started) * 1000)
    reason = decision.reason
    status = _ERROR_STATUS.get(reason)
    if status is None:
        return Response(body={"decision": body}, status_code=200)
    error = {"code": reason, "message": f"the request was refused ({reason}); the gate stays closed"}
    return Response(body={"error": error, "decision": body}, status_code=status)


def _qr_text(body: bytes) -> str:
    document = parse_json(body, "bad_json", "the body must be JSON: {\"text\": \"<decoded QR text>\"}")
    text = document.get("text") if isinstance(document, dict) else None
    if not isinstance(text, str) or not 0 < len(text) <= 4096:
        raise ApiError(400, "bad_json", "the body must be JSON: {\"text\": \"<decoded QR text>\"}")
    return text


def _is_json(request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip() == "application/json"


@bp.route("/entry/face", methods=["POST"], content_types=IMAGE_TYPES)
def face_entry():
    _, body, device, decider = _decision_request(Direction.IN)
    with _untrusted_refused():
        return _answer(decider.face(device, body))


def _qr_decision(request, body: bytes, device: DeviceEvent, decider) -> GateDecision:
    """A QR as the device sent it: its decoded text (JSON) or the camera's image of it."""
    if _is_json(request):
        return decider.qr_text(device, _qr_text(body))
    return decider.qr_image(device, body)


@bp.route("/entry/qr", methods=["POST"], content_types=["application/json", *IMAGE_TYPES])
def qr_entry():
    request, body, device, decider = _decision_request(Direction.IN)
    with _untrusted_refused():
        return _answer(_qr_decision(request, body, device, decider))


@bp.route("/exit", methods=["POST"], content_types=["application/json", *IMAGE_TYPES])
def exit_capture():
    """No barrier: the passage is recorded, with whoever the face or QR identified."""
    request, body, device, decider = _decision_request(Direction.OUT)
    kind = request.headers.get(HEADER_CAPTURE_KIND.lower(), "face")
    with _untrusted_refused():
        if _is_json(request) or kind == "qr":
            return _answer(_qr_decision(request, body, device, decider))
        if kind != "face":
            raise ApiError(400, "bad_capture_kind", f"{HEADER_CAPTURE_KIND} must be 'face' or 'qr'")
        return _answer(decider.face(device, body))


@bp.route("/events", methods=["POST"], content_types=["application/json"])
def upload_offline_events():
    """Events a gate decided while the cloud was unreachable; re-uploading one changes nothing."""
    request, body, gate = _request()
    document = parse_json(body, "bad_json", "the body must be JSON: {\"events\": [...]}", non_finite=True)
    try:
        result = _gate_services().uploads.accept(gate.gate, document)
    except UploadRefused as refused:
        raise ApiError(400, refused.code, refused.message) from refused
    logger.info("offline events uploaded", extra={"gate_id": gate.gate_id, **result.counts()})
    return result.as_dict()


@bp.route("/snapshot", methods=["GET"])
def offline_snapshot():
    """Where to download the signed snapshot of this gate's estate (a short-lived URL)."""
    _, _, gate = _request()
    located = _gate_services().snapshots.locate(gate.estate_id)
    logger.info("snapshot located", extra={"gate_id": gate.gate_id, "snapshot_id": located["snapshot_id"]})
    return located
