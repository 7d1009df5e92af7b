"""Grid-worker endpoints on the tasks the flows generated: scope, lists, roster, results, conflicts."""

from __future__ import annotations

import csv
import io
import json
import threading
from dataclasses import replace

import pytest
from chalice.test import Client

from gridgate.adapters.audit import AuditLog
from gridgate.adapters.findings import FindingRepository, VerificationTaskRepository
from gridgate.adapters.tables import PersonTable
from gridgate.domain.model import TaskStatus
from gridgate.grid_work.task_feedback import (
    CorrectionConflict,
    GridWorker,
    TaskFeedback,
    TaskSubmission,
)
from gridgate.security.tokens import issue_token


@pytest.fixture(scope="module")
def client(nightly):
    from app import app

    with Client(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def grids(nightly) -> list[str]:
    return sorted({t.grid_id for t in VerificationTaskRepository().open_tasks()})


def auth(subject: str = "worker-1", grids=(), roles=("grid_worker",)) -> dict:
    return {"Authorization": f"Bearer {issue_token(subject, list(roles), list(grids))}"}


def post(client, path: str, body: dict, headers: dict):
    return client.http.post(path, body=json.dumps(body), headers={**headers, "Content-Type": "application/json"})


def open_task(grid: str, finding_type: str = "resident_not_seen"):
    return next(t for t in VerificationTaskRepository().in_grid(grid) if t.finding_type == finding_type and t.person_id)


def test_the_flows_made_tasks_in_more_than_one_grid(grids):
    assert len(grids) >= 2


@pytest.mark.parametrize(
    "headers, status, code",
    [
        ({}, 401, "missing_token"),
        ({"Authorization": "Bearer nonsense"}, 401, "bad_token"),
        (None, 403, "forbidden"),  # a resident's token
        ("other", 403, "out_of_scope"),  # a grid worker of another grid
    ],
)
def test_only_the_grids_own_workers_get_in(client, grids, headers, status, code):
    if headers is None:
        headers = auth("P0000001", grids=[grids[0]], roles=["resident"])
    elif headers == "other":
        headers = auth(grids=[grids[1]])
    task = open_task(grids[0])
    for response in (
        client.http.get(f"/grid/{grids[0]}/tasks", headers=headers),
        client.http.get(f"/grid/{grids[0]}/homes/{task.home_id}/roster", headers=headers),
        post(client, f"/grid/{grids[0]}/tasks/{task.task_id}/result", {"result": "confirmed"}, headers),
    ):
        assert response.status_code == status, response.body
        assert json.loads(response.body)["code"] == code
    assert VerificationTaskRepository().get(grids[0], task.task_id).status == TaskStatus.OPEN


def test_a_home_of_another_grid_is_out_of_scope_even_through_ones_own_grid(client, grids):
    foreign = open_task(grids[1])
    response = client.http.get(f"/grid/{grids[0]}/homes/{foreign.home_id}/roster", headers=auth(grids=[grids[0]]))
    assert response.status_code == 403 and json.loads(response.body)["code"] == "out_of_scope"


def test_task_list_as_json_and_csv_in_walking_order(client, grids):
    headers = auth(grids=[grids[0]])
    listing = json.loads(client.http.get(f"/grid/{grids[0]}/tasks?limit=200", headers=headers).body)
    assert listing["count"] == len(VerificationTaskRepository().in_grid(grids[0])) > 0
    assert listing["next_cursor"] is None, "the tiny city's grid fits one page of 200"
    keys = [
        (t["priority"], t["estate_id"], t["building_id"], t["unit"], t["floor"], t["room"]) for t in listing["tasks"]
    ]
    assert keys == sorted(keys) and [t["order"] for t in listing["tasks"]] == list(range(1, listing["count"] + 1))
    response = client.http.get(f"/grid/{grids[0]}/tasks?format=csv&limit=200", headers=headers)
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert [r["task_id"] for r in rows] == [t["task_id"] for t in listing["tasks"]]
    page = client.http.get(f"/grid/{grids[0]}/tasks?format=html", headers=headers)
    assert page.headers["Content-Type"].startswith("text/html") and b"<table>" in page.body
    bad = client.http.get(f"/grid/{grids[0]}/tasks?format=xml", headers=headers)
    assert bad.status_code == 400 and json.loads(bad.body)["code"] == "bad_format"


def test_reading_a_roster_is_audited_per_person(client, grids):
    task = open_task(grids[0])
    before = len([r for r in AuditLog().by_actor("worker-roster") if r.action == "personal_data.read"])
    response = client.http.get(
        f"/grid/{grids[0]}/homes/{task.home_id}/roster", headers=auth("worker-roster", [grids[0]])
    )
    assert response.status_code == 200
    roster = json.loads(response.body)
    people = [p for p in roster["residents"] if p["in_registry"]]
    assert roster["home"]["home_id"] == task.home_id and task.person_id in {p["person_id"] for p in people}
    assert all(p["name"] and len(p["id_number_tail"]) == 4 and "id_number" not in p for p in people)
    reads = [r for r in AuditLog().by_actor("worker-roster") if r.action == "personal_data.read"]
    assert len(reads) - before == len(people)
    assert {r.subject for r in reads} >= {f"person#{p['person_id']}" for p in people}


def test_confirmed_closes_the_task_and_its_finding(client, grids):
    task = open_task(grids[0], "grantee_registered_elsewhere")
    response = post(
        client,
        f"/grid/{grids[0]}/tasks/{task.task_id}/result",
        {"result": "confirmed", "note": "tenant lives here"},
        auth(grids=[grids[0]]),
    )
    assert response.status_code == 200 and json.loads(response.body) == {
        "task_id": task.task_id,
        "status": "done",
        "result": "confirmed",
    }
    assert FindingRepository().get(task.finding_id).status == TaskStatus.DONE
    again = post(
        client, f"/grid/{grids[0]}/tasks/{task.task_id}/result", {"result": "confirmed"}, auth(grids=[grids[0]])
    )
    assert again.status_code == 409 and json.loads(again.body)["code"] == "task_closed"


def test_not_reachable_keeps_the_finding_open_for_another_visit(client, grids):
    task = open_task(grids[0])
    response = post(
        client, f"/grid/{grids[0]}/tasks/{task.task_id}/result", {"result": "not_reachable"}, auth(grids=[grids[0]])
    )
    assert response.status_code == 200
    assert FindingRepository().get(task.finding_id).status == TaskStatus.OPEN


def test_a_correction_updates_the_registry_with_an_audit_record(client, grids):
    task = open_task(grids[0])
    person = PersonTable.get(task.person_id)
    body = {
        "result": "corrected",
        "note": "moved to Shanghai",
        "corrections": [{"person_id": task.person_id, "seen_version": int(person.version), "moved_out": True}],
    }
    response = post(client, f"/grid/{grids[0]}/tasks/{task.task_id}/result", body, auth("worker-fix", [grids[0]]))
    assert response.status_code == 200, response.body
    updated = PersonTable.get(task.person_id, consistent_read=True)
    assert updated.registered_home_id is None and updated.registered_grid_id is None
    assert int(updated.version) == int(person.version) + 1
    assert FindingRepository().get(task.finding_id).status == TaskStatus.DONE
    [record] = [r for r in AuditLog().about(f"person#{task.person_id}") if r.action == "registry.corrected"]
    assert record.actor == "worker-fix" and record.detail["before"]["registered_home_id"] == person.registered_home_id
    assert record.detail["after"]["registered_home_id"] is None and record.detail["task_id"] == task.task_id


def _second_task_for(task):
    """Another open task about the same person (two findings, two visits)."""
    twin = replace(task, task_id=task.task_id + "-twin", finding_id=task.finding_id + "-twin")
    VerificationTaskRepository().add_new([twin])
    return twin


def test_two_conflicting_corrections_the_second_is_refused(client, grids):
    task = open_task(grids[0])
    twin = _second_task_for(task)
    seen = int(PersonTable.get(task.person_id).version)
    first = {
        "result": "corrected",
        "corrections": [{"person_id": task.person_id, "seen_version": seen, "key_groups": ["disabled"]}],
    }
    second = {
        "result": "corrected",
        "corrections": [{"person_id": task.person_id, "seen_version": seen, "moved_out": True}],
    }
    assert (
        post(client, f"/grid/{grids[0]}/tasks/{task.task_id}/result", first, auth(grids=[grids[0]])).status_code == 200
    )
    refused = post(client, f"/grid/{grids[0]}/tasks/{twin.task_id}/result", second, auth("worker-2", [grids[0]]))
    assert refused.status_code == 409
    error = json.loads(refused.body)
    assert error["code"] == "correction_conflict" and error["current_version"] == seen + 1
    stored = PersonTable.get(task.person_id, consistent_read=True)
    assert stored.registered_home_id is not None and set(stored.key_groups) == {"disabled"}  # the first one stands
    assert VerificationTaskRepository().get(grids[0], twin.task_id).status == TaskStatus.OPEN


def test_simultaneous_corrections_one_wins_one_conflicts(grids):
    task = open_task(grids[0])
    twin = _second_task_for(task)
    seen = int(PersonTable.get(task.person_id).version)
    worker = GridWorker("worker-race", frozenset(grids[:1]))
    barrier, outcomes = threading.Barrier(2), []

    def submit(task_id: str, groups: list[str]) -> None:
        body = {
            "result": "corrected",
            "corrections": [{"person_id": task.person_id, "seen_version": seen, "key_groups": groups}],
        }
        barrier.wait()
        try:
            TaskFeedback().submit(worker, grids[0], task_id, TaskSubmission.from_json(body))
            outcomes.append("saved")
        except CorrectionConflict:
            outcomes.append("conflict")

    threads = [
        threading.Thread(target=submit, args=args) for args in ((task.task_id, ["disabled"]), (twin.task_id, []))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "saved"]
    assert int(PersonTable.get(task.person_id, consistent_read=True).version) == seen + 1


@pytest.mark.parametrize(
    "body, code",
    [
        ({"result": "maybe"}, "invalid_submission"),
        ({"result": "corrected"}, "invalid_submission"),
        (
            {"result": "confirmed", "corrections": [{"person_id": "P1", "seen_version": 1, "moved_out": True}]},
            "invalid_submission",
        ),
        (
            {"result": "corrected", "corrections": [{"person_id": "P1", "seen_version": "1", "moved_out": True}]},
            "invalid_submission",
        ),
        (
            {"result": "corrected", "corrections": [{"person_id": "P1", "seen_version": 1, "key_groups": ["vip"]}]},
            "invalid_submission",
        ),
        (
            {"result": "corrected", "corrections": [{"person_id": "NOBODY", "seen_version": 1, "moved_out": True}]},
            "invalid_submission",
        ),
    ],
)
def test_bad_submissions_are_clear_4xx(client, grids, body, code):
    task = open_task(grids[0])
    response = post(client, f"/grid/{grids[0]}/tasks/{task.task_id}/result", body, auth(grids=[grids[0]]))
    assert response.status_code == 400 and json.loads(response.body)["code"] == code
    assert VerificationTaskRepository().get(grids[0], task.task_id).status == TaskStatus.OPEN


def test_broken_json_and_unknown_task(client, grids):
    headers = {**auth(grids=[grids[0]]), "Content-Type": "application/json"}
    broken = client.http.post(f"/grid/{grids[0]}/tasks/t-x-1/result", body="{not json", headers=headers)
    assert broken.status_code == 400 and json.loads(broken.body)["code"] == "bad_json"
    unknown = post(client, f"/grid/{grids[0]}/tasks/t-nope-1/result", {"result": "confirmed"}, auth(grids=[grids[0]]))
    assert unknown.status_code == 404 and json.loads(unknown.body)["code"] == "task_not_found"
