"""Gate devices' endpoints: face and QR entry, exit capture, offline upload, offline snapshot.

Every request is signed by the gate's own key (`gridgate.security.device_auth`); the estate a gate
acts for is read from its gate record. The decision itself is made in
`gridgate.gate.decision`; this module only turns HTTP into a `DeviceEvent` and back.

The signature, gate and timestamp are checked before any work. The nonce is claimed where the
request takes effect: the upload and the snapshot claim it at once; the three decisions (face and
QR entry, exit) leave it to the one write that records the decision, saving a round trip per
passage, so a replayed decision is found there, refused 401 and stores nothing. A request refused
400 for its device headers has no effect, so its nonce stays unclaimed (sending it again gets
the same 400).

Answers: 200 with ``{"decision": {...}}`` for open / deny / recorded; 400 or 413 when the request
itself was unusable, 403 when an entry-only gate reports an exit or an exit-only gate asks to
open (the decision, a deny, is still recorded and returned under ``"decision"``), and 403
``face_matched_on_device`` (nothing recorded) for a face image from an estate whose gates match
faces on the device (`GateServices.accept_face_image`);
401 when the caller is not a trusted gate (nothing recorded, nothing opened). Logs carry event
ids, gate ids, codes and scores, never a person's id or name (the event row holds those).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from chalice import Blueprint, Response

from chalicelib.api_schemas import (
    GateDecisionAnswer,
    OfflineEvents,
    OfflineUploadAnswer,
    QrTextRequest,
    SnapshotLocation,
)
from chalicelib.bootstrap import gate_services
from chalicelib.json_body import parse_json
from chalicelib.logs import logger
from chalicelib.openapi import DEVICE_PARAMS, Param, documented
from chalicelib.refusal_statuses import decision_status
from chalicelib.request_context import body_bytes, current_request
from gridgate.adapters import ops_metrics
from gridgate.clock import now as city_now
from gridgate.config import get_settings
from gridgate.domain.model import Direction
from gridgate.gate import affinity
from gridgate.gate.decision import DeviceEvent, GateDecider, GateDecision
from gridgate.gate.resident_facts import FactsChanged
from gridgate.refusals import GateRequestRefused, Invalid
from gridgate.security.device_auth import (
    HEADER_CAPTURE_KIND,
    HEADER_CAPTURED_AT,
    HEADER_EVENT_ID,
    HEADER_LIVENESS,
)

bp = Blueprint(__name__)

IMAGE_TYPES = ["image/jpeg", "image/png", "application/octet-stream"]
_DEVICE_EVENT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: A live request reports a passage that just happened; older ones come through the offline upload.
_LIVE_CAPTURE_MAX_AGE = timedelta(minutes=10)
#: A decision's refusals: the request (400), the gate's direction (403), the body's size (413).
_DECISION_ERRORS = (400, 403, 413)
_CAPTURE_KIND = Param(
    HEADER_CAPTURE_KIND,
    "header",
    {"type": "string", "enum": ["face", "qr"]},
    "what the image shows (default face; JSON bodies are QR text)",
)


def _request(*, claim_nonce: bool = True):
    """The request, its body and its gate. `claim_nonce=False`: the caller's write claims the nonce."""
    request = current_request()
    body = body_bytes(request)
    limit = get_settings().gate_max_upload_bytes
    if len(body) > limit:
        logger.warning("upload refused", extra={"code": "payload_too_large", "bytes": len(body)})
        raise Invalid("payload_too_large", size=len(body), limit=limit)
    authenticator = gate_services().authenticator
    check = authenticator.authenticate if claim_nonce else authenticator.verify
    gate = check(request.method, request.path, request.headers, body)  # `DeviceAuthError`: 401, nothing done
    if not affinity.serves(gate.estate_id, get_settings()):  # decided all the same; the device's URL is old
        logger.warning("gate request off its shard", extra={"gate_id": gate.gate_id})
        ops_metrics.count("GateOffShard")
    return request, body, gate


#: When this thread's decision request arrived (`_answer` emits the decision's latency from it).
_arrival = threading.local()


def _decision_request(direction: Direction):
    """A decision's request, body and device event, and `decided`: how to decide it."""
    _arrival.started = time.perf_counter()
    request, body, gate = _request(claim_nonce=False)
    device = _device_event(request, gate, direction)

    def decided(decide: Callable[[GateDecider], GateDecision]) -> GateDecision:
        """By a decider that claims the request's nonce; once more, from fresh reads, when a fact the
        warm function remembered no longer held at the write (`FactsChanged`: nothing was stored)."""
        try:
            return decide(gate_services().decider(gate.nonce))
        except FactsChanged:
            return decide(gate_services().decider(gate.nonce))

    return request, body, device, decided


def _device_event(request, gate, direction: Direction) -> DeviceEvent:
    headers = request.headers
    device_event_id = headers.get(HEADER_EVENT_ID.lower(), "")
    if not _DEVICE_EVENT_ID.match(device_event_id):
        raise Invalid("bad_device_event_id", header=HEADER_EVENT_ID)
    try:
        captured_at = datetime.fromisoformat(headers.get(HEADER_CAPTURED_AT.lower(), ""))
    except ValueError as err:
        raise Invalid("bad_captured_at", header=HEADER_CAPTURED_AT) from err
    if captured_at.tzinfo is None:
        raise Invalid("bad_captured_at", header=HEADER_CAPTURED_AT)
    now = city_now()
    window = timedelta(seconds=get_settings().gate_request_window_seconds)
    if not now - _LIVE_CAPTURE_MAX_AGE <= captured_at <= now + window:
        raise Invalid("bad_captured_at", header=HEADER_CAPTURED_AT)
    return DeviceEvent(
        gate=gate.gate,
        device_event_id=device_event_id,
        captured_at=captured_at.astimezone(UTC),
        direction=direction,
        liveness=_liveness(headers.get(HEADER_LIVENESS.lower())),
    )


def _liveness(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    try:
        score = float(text)
    except ValueError as err:
        raise Invalid("bad_liveness_score", header=HEADER_LIVENESS) from err
    if not 0.0 <= score <= 1.0:
        raise Invalid("bad_liveness_score", header=HEADER_LIVENESS)
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
    if decision_status(reason) is None:
        return Response(body={"decision": body}, status_code=200)
    # A refused request still carries its recorded deny, as an extension member of the problem.
    raise GateRequestRefused(reason, decision=body)


def _qr_text(body: bytes) -> str:
    document = parse_json(body, "bad_json")
    text = document.get("text") if isinstance(document, dict) else None
    if not isinstance(text, str) or not 0 < len(text) <= 4096:
        raise Invalid("bad_json")
    return text


def _is_json(request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip() == "application/json"


@bp.route("/entry/face", methods=["POST"], content_types=IMAGE_TYPES)
@documented(
    media=tuple(IMAGE_TYPES),
    responses={200: GateDecisionAnswer},
    errors=_DECISION_ERRORS,
    gate=True,
    params=DEVICE_PARAMS,
)
def face_entry():
    """Open or not for the face in the camera frame (send ``X-Liveness-Score``).

    Errors that still record a deny carry it as the problem's ``decision`` member: 400 for an
    unusable request, 413 for an image over the limit, 403 ``wrong_direction`` for an exit-only gate.
    """
    _, body, device, decided = _decision_request(Direction.IN)
    gate_services().accept_face_image(device.gate.estate_id)
    return _answer(decided(lambda decider: decider.face(device, body)))


def _qr_decision(request, body: bytes, device: DeviceEvent, decider) -> GateDecision:
    """A QR as the device sent it: its decoded text (JSON) or the camera's image of it."""
    if _is_json(request):
        return decider.qr_text(device, _qr_text(body))
    return decider.qr_image(device, body)


@bp.route("/entry/qr", methods=["POST"], content_types=["application/json", *IMAGE_TYPES])
@documented(
    request=QrTextRequest,
    media=tuple(IMAGE_TYPES),
    responses={200: GateDecisionAnswer},
    errors=_DECISION_ERRORS,
    gate=True,
    params=DEVICE_PARAMS,
)
def qr_entry():
    """Open or not for a visitor pass or resident code: its decoded text (JSON) or the camera's image of it."""
    request, body, device, decided = _decision_request(Direction.IN)
    return _answer(decided(lambda decider: _qr_decision(request, body, device, decider)))


@bp.route("/exit", methods=["POST"], content_types=["application/json", *IMAGE_TYPES])
@documented(
    request=QrTextRequest,
    media=tuple(IMAGE_TYPES),
    responses={200: GateDecisionAnswer},
    errors=_DECISION_ERRORS,
    gate=True,
    params=(*DEVICE_PARAMS, _CAPTURE_KIND),
)
def exit_capture():
    """Record an exit (no barrier), with whoever the face or QR identified."""
    request, body, device, decided = _decision_request(Direction.OUT)
    kind = request.headers.get(HEADER_CAPTURE_KIND.lower(), "face")
    if _is_json(request) or kind == "qr":
        return _answer(decided(lambda decider: _qr_decision(request, body, device, decider)))
    if kind != "face":
        raise Invalid("bad_capture_kind", header=HEADER_CAPTURE_KIND)
    gate_services().accept_face_image(device.gate.estate_id)
    return _answer(decided(lambda decider: decider.face(device, body)))


@bp.route("/events", methods=["POST"], content_types=["application/json"])
@documented(request=OfflineEvents, responses={200: OfflineUploadAnswer}, errors=(400, 413), gate=True)
def upload_offline_events():
    """Events a gate decided while the cloud was unreachable; re-uploading one changes nothing."""
    request, body, gate = _request()
    document = parse_json(body, "bad_json", non_finite=True)
    result = gate_services().uploads.accept(gate.gate, document)  # `UploadRefused`: 400
    logger.info("offline events uploaded", extra={"gate_id": gate.gate_id, **result.counts()})
    return result.as_dict()


@bp.route("/snapshot", methods=["GET"])
@documented(responses={200: SnapshotLocation}, errors=(409, 413), gate=True)
def offline_snapshot():
    """Where to download the signed snapshot of this gate's estate (a short-lived URL); 409
    `snapshot_not_ready` while it is being built off the request (keep the current one, retry)."""
    _, _, gate = _request()
    located = gate_services().snapshots.locate(gate.estate_id)
    logger.info("snapshot located", extra={"gate_id": gate.gate_id, "snapshot_id": located["snapshot_id"]})
    return located
