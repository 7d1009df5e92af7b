"""Grid-worker endpoints (mounted at /grid): the task list, a home's roster, and task results.

Every route needs a bearer token with the ``grid_worker`` role and acts only inside the grids
the token names (anything else is 403 ``out_of_scope``). Reading a roster decrypts personal
data and is audited per person; a result that corrects the registry names the person version
the worker saw and is refused with 409 ``correction_conflict`` if someone changed it first.

- ``GET  /grid/{grid_id}/tasks[?format=json|csv|html&limit=&cursor=]``   open tasks in walking order, paged
- ``GET  /grid/{grid_id}/homes/{home_id}/roster``          who lives there, per the registries
- ``POST /grid/{grid_id}/tasks/{task_id}/result``          confirmed / corrected / not_reachable
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api_schemas import RosterAnswer, TaskListAnswer, TaskResultAnswer, TaskResultRequest
from chalicelib.auth import require
from chalicelib.bootstrap import api_services
from chalicelib.idempotency import IdempotentOperation
from chalicelib.json_body import parse_json
from chalicelib.openapi import LANG, Param, documented
from chalicelib.paging import next_page, page_request, paged
from chalicelib.request_context import body_bytes, current_request, query_params, request_id, request_locale
from gridgate import i18n
from gridgate.adapters.audit import AuditLog
from gridgate.adapters.findings import VerificationTaskRepository
from gridgate.adapters.repositories import PlaceRepository
from gridgate.clock import city_clock
from gridgate.grid_work.task_feedback import GridWorker, TaskSubmission
from gridgate.grid_work.task_sheets import rows, to_csv, to_html, walking_key
from gridgate.refusals import Invalid, NotAllowed

bp = Blueprint(__name__)
GRID_WORKER = "grid_worker"
_TASK_RESULT = IdempotentOperation("task_result")


def _worker(grid_id: str) -> GridWorker:
    principal = require(current_request(), GRID_WORKER)
    if grid_id not in principal.grids:
        raise NotAllowed("out_of_scope", grid_id=grid_id)
    return GridWorker(subject=principal.subject, grids=frozenset(principal.grids))


def _request_id() -> str | None:
    return request_id(current_request())


@bp.route("/{grid_id}/tasks", methods=["GET"])
@documented(
    responses={200: (TaskListAnswer, "text/csv", "text/html")},
    errors=(400,),
    role=GRID_WORKER,
    paged=True,
    params=(Param("format", "query", {"type": "string", "enum": ["json", "csv", "html"], "default": "json"}), LANG),
)
def list_tasks(grid_id: str):
    """A grid's open tasks in walking order, a page at a time, as JSON, CSV or a printable sheet.

    Every format pages alike (``limit``, ``cursor``; JSON answers ``next_cursor``, every format
    the ``Link`` header); ``order`` numbers a task within the whole list, so sheets printed page
    by page continue each other. Paging resumes after the last walking-order key shown: the
    order is computed from the homes, not a DynamoDB key, so the grid's one query is read whole.
    """
    worker = _worker(grid_id)
    request = current_request()
    form = query_params(request).get("format", "json")
    if form not in {"json", "csv", "html"}:
        raise Invalid("bad_format")
    page = page_request(request, worker.subject, format=form)
    every = VerificationTaskRepository().in_grid(grid_id)
    tasks, position = page.keyset(every, lambda task: list(walking_key(task)))
    first = 1 + sum(1 for task in every if tasks and walking_key(task) < walking_key(tasks[0]))
    # A task list names homes and people to visit: its reads are logged as a roster read is.
    AuditLog().record(
        worker.subject,
        "personal_data.read",
        f"grid#{grid_id}",
        request_id=_request_id(),
        detail={
            "purpose": "door-to-door verification",
            "grid_id": grid_id,
            "format": form,
            "tasks": [t.task_id for t in tasks],
        },
    )
    _, link = next_page(request, page, position)
    if form == "csv":
        return Response(
            body=to_csv(tasks, first),
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="tasks-{grid_id}.csv"',
                **link,
            },
        )
    locale = request_locale(request)
    # names (each read audited per person), estates by name, reasons in the reader's language
    details = api_services().task_list_details.read(
        worker.subject,
        grid_id,
        tasks,
        i18n.translator(locale),
        f"door-to-door verification ({form})",
        request_id=_request_id(),
    )
    if form == "html":
        sheet = to_html(grid_id, tasks, city_clock().today(), locale, details, first)
        return Response(body=sheet, headers={"Content-Type": "text/html; charset=utf-8", **link})
    grid = PlaceRepository().get(grid_id)
    body = {
        "grid_id": grid_id,
        "grid_name": grid.name if grid else None,
        "count": len(every),
        "tasks": rows(tasks, details, first),
    }
    return paged(request, page, body, position)


@bp.route("/{grid_id}/homes/{home_id}/roster", methods=["GET"])
@documented(responses={200: RosterAnswer}, errors=(404,), role=GRID_WORKER)
def home_roster(grid_id: str, home_id: str):
    """Who lives in a home of my grid, per the registries (each person's read is audited).

    One home's people, a handful: not paged.
    """
    worker = _worker(grid_id)
    return api_services().home_roster.read(worker, grid_id, home_id, request_id=_request_id())


@bp.route("/{grid_id}/tasks/{task_id}/result", methods=["POST"], content_types=["application/json"])
@documented(
    request=TaskResultRequest, responses={200: TaskResultAnswer}, errors=(404, 409), role=GRID_WORKER, idempotent=True
)
def submit_result(grid_id: str, task_id: str):
    """The result of a door-to-door visit: confirmed, corrected (with the corrections) or not reachable.

    A correction names the person version the worker saw; 409 ``correction_conflict`` when someone
    changed that person first, 409 ``task_closed`` when the task is already done.
    """
    worker = _worker(grid_id)
    body = parse_json(body_bytes(current_request()) or b"null", "bad_json")

    def submit() -> dict:
        task = api_services().task_feedback.submit(
            worker, grid_id, task_id, TaskSubmission.from_json(body), request_id=_request_id()
        )
        return {
            "task_id": task.task_id,
            "status": task.status.value,
            "result": task.result.value if task.result else None,
        }

    # The phone queues results made without signal and sends each with its own Idempotency-Key;
    # a resend (the answer was lost on the way back) gets the first answer, not a second write.
    return _TASK_RESULT(
        current_request(), worker.subject, {"grid_id": grid_id, "task_id": task_id, "body": body}, submit
    )
