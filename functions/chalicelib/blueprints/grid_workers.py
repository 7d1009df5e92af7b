"""Grid-worker endpoints (mounted at /grid): the task list, a home's roster, and task results.

Every route needs a bearer token with the ``grid_worker`` role and acts only inside the grids
the token names (anything else is 403 ``out_of_scope``). Reading a roster decrypts personal
data and is audited per person; a result that corrects the registry names the person version
the worker saw and is refused with 409 ``correction_conflict`` if someone changed it first.

- ``GET  /grid/{grid_id}/tasks[?format=json|csv|html]``   open tasks in walking order
- ``GET  /grid/{grid_id}/homes/{home_id}/roster``          who lives there, per the registries
- ``POST /grid/{grid_id}/tasks/{task_id}/result``          confirmed / corrected / not_reachable
"""

from __future__ import annotations

from functools import lru_cache

from chalice import Blueprint, Response
from gridgate.adapters.audit import AuditLog
from gridgate.adapters.findings import VerificationTaskRepository
from gridgate import i18n
from gridgate.clock import city_clock
from gridgate.services.home_roster import HomeRoster
from gridgate.services.task_feedback import (
    FeedbackError,
    GridWorker,
    TaskFeedback,
    TaskSubmission,
)
from gridgate.services.task_list_details import TaskListDetailsReader
from gridgate.services.task_sheets import rows, to_csv, to_html

from chalicelib.auth import require
from chalicelib.errors import ApiError
from chalicelib.json_body import parse_json
from chalicelib.idempotency import IdempotentOperation

bp = Blueprint(__name__)
_TASK_RESULT = IdempotentOperation("task_result")


@lru_cache(maxsize=1)
def _feedback() -> TaskFeedback:
    return TaskFeedback()


@lru_cache(maxsize=1)
def _details() -> TaskListDetailsReader:
    return TaskListDetailsReader.default()


@lru_cache(maxsize=1)
def _roster() -> HomeRoster:
    return HomeRoster.default()


def _worker(grid_id: str) -> GridWorker:
    principal = require(bp.current_request, "grid_worker")
    if grid_id not in principal.grids:
        raise ApiError(403, "out_of_scope", f"grid {grid_id} is not one of yours")
    return GridWorker(subject=principal.subject, grids=frozenset(principal.grids))


def _request_id() -> str | None:
    return (bp.current_request.context or {}).get("requestId")


def _refused(error: FeedbackError) -> ApiError:
    return ApiError(error.status, error.code, error.message, **error.detail)


@bp.route("/{grid_id}/tasks", methods=["GET"])
def list_tasks(grid_id: str):
    worker = _worker(grid_id)
    form = (bp.current_request.query_params or {}).get("format", "json")
    if form not in {"json", "csv", "html"}:
        raise ApiError(400, "bad_format", "format must be json, csv or html")
    tasks = VerificationTaskRepository().in_grid(grid_id)
    # A task list names homes and people to visit: its reads are logged as a roster read is.
    AuditLog().record(
        worker.subject, "personal_data.read", f"grid#{grid_id}", request_id=_request_id(),
        detail={"purpose": "door-to-door verification", "grid_id": grid_id, "format": form,
                "tasks": [t.task_id for t in tasks]},
    )
    if form == "csv":
        return Response(
            body=to_csv(tasks),
            headers={"Content-Type": "text/csv; charset=utf-8", "Content-Disposition": f'attachment; filename="tasks-{grid_id}.csv"'},
        )
    request = bp.current_request
    headers = {key.lower(): value for key, value in (request.headers or {}).items()}
    locale = i18n.negotiate((request.query_params or {}).get("lang"), headers.get("accept-language"))
    # names (each read audited per person), estates by name, reasons in the reader's language
    details = _details().read(worker.subject, grid_id, tasks, i18n.translator(locale),
                              f"door-to-door verification ({form})", request_id=_request_id())
    if form == "html":
        page = to_html(grid_id, tasks, city_clock().today(), locale, details)
        return Response(body=page, headers={"Content-Type": "text/html; charset=utf-8"})
    return {"grid_id": grid_id, "count": len(tasks), "tasks": rows(tasks, details)}


@bp.route("/{grid_id}/homes/{home_id}/roster", methods=["GET"])
def home_roster(grid_id: str, home_id: str):
    worker = _worker(grid_id)
    try:
        return _roster().read(worker, grid_id, home_id, request_id=_request_id())
    except FeedbackError as error:
        raise _refused(error) from None


@bp.route("/{grid_id}/tasks/{task_id}/result", methods=["POST"], content_types=["application/json"])
def submit_result(grid_id: str, task_id: str):
    worker = _worker(grid_id)
    body = parse_json(bp.current_request.raw_body or b"null", "bad_json", "the body must be JSON")

    def submit() -> dict:
        try:
            task = _feedback().submit(worker, grid_id, task_id, TaskSubmission.from_json(body), request_id=_request_id())
        except FeedbackError as error:
            raise _refused(error) from None
        return {"task_id": task.task_id, "status": task.status.value, "result": task.result.value if task.result else None}

    # The phone queues results made without signal and sends each with its own Idempotency-Key;
    # a resend (the answer was lost on the way back) gets the first answer, not a second write.
    return _TASK_RESULT(bp.current_request, worker.subject, {"grid_id": grid_id, "task_id": task_id, "body": body}, submit)
