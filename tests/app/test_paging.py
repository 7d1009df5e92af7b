"""Lists page (issue 17): limit, a sealed cursor, next_cursor and Link; every item exactly once.

Each list is made larger than the page asked for and read to its end through the real app; the
cursor is then attacked: tampered, moved to another home, another caller, another filter.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from app_helpers import bearer, call, grant_body
from problems import problem


def read_all(client, path: str, headers: dict, limit: int, key: str) -> tuple[list[dict], int]:
    """Follow next_cursor from the first page to the last; returns the items and the number of pages."""
    items, pages, cursor = [], 0, None
    while True:
        query = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.http.get(f"{path}{'&' if '?' in path else '?'}{query}", headers=headers)
        assert response.status_code == 200, response.body
        body = json.loads(response.body)
        assert len(body[key]) <= limit
        items += body[key]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            assert "Link" not in response.headers
            return items, pages
        link = response.headers["Link"]
        assert link.endswith('>; rel="next"') and parse_qs(link[2 : link.index(">")])["cursor"] == [cursor]


def test_a_home_s_passes_page_through_dynamodb_exactly_once(client, city):
    estate = city.estate(homes=1)
    home, owner = estate.homes[0], estate.owners[estate.homes[0]]
    issued = [
        call(client, "POST", f"/homes/{home}/passes", owner, {"visitor_name": f"访客{i}"})[1]["pass_id"]
        for i in range(7)
    ]
    passes, pages = read_all(client, f"/homes/{home}/passes", bearer(owner), 3, "passes")
    assert sorted(p["pass_id"] for p in passes) == sorted(issued) and len(passes) == 7
    assert pages >= 3
    starts = [p["valid_from"] for p in passes]
    assert starts == sorted(starts, reverse=True)


def test_grants_homes_and_all_passes_page_exactly_once(client, city):
    estate = city.estate(homes=3)
    owner = estate.owners[estate.homes[0]]
    mine = city.estate(homes=2, owner=owner).homes + [estate.homes[0]]
    home = mine[0]
    grants = []
    for _ in range(5):  # granted then revoked: revoked grants stay listed, and the cap is never reached
        status, grant = call(client, "POST", f"/homes/{home}/grants", owner, grant_body(city.person()[1]))
        assert status == 201, grant
        assert call(client, "DELETE", f"/homes/{home}/grants/{grant['grant_id']}", owner)[0] == 200
        grants.append(grant["grant_id"])
    listed, pages = read_all(client, f"/homes/{home}/grants", bearer(owner), 2, "grants")
    assert [g["grant_id"] for g in listed] == grants[::-1] and pages == 3

    homes, _ = read_all(client, "/me/homes", bearer(owner), 2, "homes")
    assert sorted(h["home_id"] for h in homes) == sorted(mine)

    issued = [
        call(client, "POST", f"/homes/{h}/passes", owner, {"visitor_name": "访客"})[1]["pass_id"]
        for h in mine
        for _ in range(2)
    ]
    passes, _ = read_all(client, "/me/passes", bearer(owner), 4, "passes")
    assert sorted(p["pass_id"] for p in passes) == sorted(issued)


def _task(grid_id: str, n: int, at: datetime):
    from gridgate.domain.model import VerificationTask

    return VerificationTask(
        f"t-{grid_id}-{n:02d}",
        grid_id,
        f"f-{grid_id}-{n:02d}",
        1 + n % 2,
        ("E-1", "B-1", "1", n % 5, f"{n:02d}01"),
        f"H-{grid_id}-{n}",
        "核对住户",
        at,
        finding_type="registered_elsewhere",
    )


def test_a_grid_s_tasks_page_in_walking_order_exactly_once(client, city):
    from gridgate.adapters.findings import VerificationTaskRepository

    grid = city.estate().grid_id
    at = datetime(2026, 5, 1, tzinfo=UTC)
    VerificationTaskRepository().add_new([_task(grid, n, at) for n in range(11)])
    worker = bearer("worker-paging", roles=("grid_worker",), grids=(grid,))
    tasks, pages = read_all(client, f"/grid/{grid}/tasks", worker, 4, "tasks")
    assert len(tasks) == 11 and len({t["task_id"] for t in tasks}) == 11 and pages == 3
    assert [t["order"] for t in tasks] == list(range(1, 12))  # numbered across pages
    whole = json.loads(client.http.get(f"/grid/{grid}/tasks?limit=200", headers=worker).body)["tasks"]
    assert [t["task_id"] for t in tasks] == [t["task_id"] for t in whole]
    csv_page = client.http.get(f"/grid/{grid}/tasks?format=csv&limit=4", headers=worker)
    assert csv_page.status_code == 200 and "cursor=" in csv_page.headers["Link"]
    assert csv_page.body.decode().count("\n") == 5  # header and four rows


def test_findings_under_a_place_page_newest_first_exactly_once(client, city):
    from gridgate.adapters.findings import FindingRepository
    from gridgate.adapters.repositories import PlaceRepository
    from gridgate.domain.model import Finding, Place, PlaceKind, Severity

    grid = city.estate().grid_id
    PlaceRepository().add(Place(grid, PlaceKind.GRID, "测试网格", None, {}))
    at = datetime(2026, 5, 1, tzinfo=UTC)
    FindingRepository().sync(
        [
            Finding(
                f"fd-{grid}-{n}",
                "registered_elsewhere",
                Severity.LOW,
                grid,
                f"home#H{n}",
                {},
                at + timedelta(minutes=n % 4),
            )
            for n in range(9)
        ]
    )
    staff = bearer("dc-paging", roles=("data_center",))
    found, _ = read_all(client, f"/pages/data-center/findings?parent={grid}", staff, 4, "findings")
    assert sorted(f["finding_id"] for f in found) == sorted(f"fd-{grid}-{n}" for n in range(9))
    keys = [(f["detected_at"], f["finding_id"]) for f in found]
    assert keys == sorted(keys, reverse=True)
    overview = json.loads(client.http.get(f"/pages/data-center/overview?parent={grid}&shown=4", headers=staff).body)
    rest = client.http.get(
        f"/pages/data-center/findings?parent={grid}&limit=5&cursor={overview['findings_next_cursor']}", headers=staff
    )
    following = json.loads(rest.body)["findings"]
    assert [f["finding_id"] for f in overview["findings"] + following] == [f["finding_id"] for f in found]


@pytest.fixture
def paged_home(client, city):
    """Two homes of one owner with three passes each, and the cursor of the first home's first page."""
    estate = city.estate(homes=2)
    owner = estate.owners[estate.homes[0]]
    second = city.estate(homes=1, owner=owner).homes[0]
    for home in (estate.homes[0], second):
        for _ in range(3):
            assert call(client, "POST", f"/homes/{home}/passes", owner, {"visitor_name": "访客"})[0] == 201
    first = json.loads(client.http.get(f"/homes/{estate.homes[0]}/passes?limit=1", headers=bearer(owner)).body)
    return estate.homes[0], second, owner, first["next_cursor"]


def test_a_tampered_or_moved_cursor_is_400_bad_cursor(client, paged_home):
    home, other_home, owner, cursor = paged_home
    flipped = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]
    for path, who in [
        (f"/homes/{home}/passes?cursor={flipped}", owner),  # tampered
        (f"/homes/{other_home}/passes?cursor={cursor}", owner),  # another home of the same owner
        ("/me/passes?cursor=" + cursor, owner),  # another list
        (f"/homes/{home}/passes?cursor=not-a-cursor", owner),
        (f"/homes/{home}/passes?cursor={'A' * 3000}", owner),
    ]:
        problem(client.http.get(path, headers=bearer(who)), 400, "bad_cursor")
    assert client.http.get(f"/homes/{home}/passes?cursor={cursor}", headers=bearer(owner)).status_code == 200


def test_another_caller_cannot_use_a_cursor(client, paged_home, city):
    home, _, owner, cursor = paged_home
    grid = city.estate().grid_id
    worker_a = bearer("worker-a", roles=("grid_worker",), grids=(grid,))
    worker_b = bearer("worker-b", roles=("grid_worker",), grids=(grid,))
    from gridgate.adapters.findings import VerificationTaskRepository

    VerificationTaskRepository().add_new([_task(grid, n, datetime(2026, 5, 1, tzinfo=UTC)) for n in range(3)])
    page = json.loads(client.http.get(f"/grid/{grid}/tasks?limit=1", headers=worker_a).body)
    problem(
        client.http.get(f"/grid/{grid}/tasks?limit=1&cursor={page['next_cursor']}", headers=worker_b), 400, "bad_cursor"
    )
    problem(
        client.http.get(f"/grid/{grid}/tasks?format=csv&cursor={page['next_cursor']}", headers=worker_a),
        400,
        "bad_cursor",
    )


@pytest.mark.parametrize("limit", ["0", "201", "abc", "-1", "1.5", "٣"])
def test_a_limit_out_of_bounds_is_400_bad_limit(client, paged_home, limit):
    home, _, owner, _ = paged_home
    problem(client.http.get(f"/homes/{home}/passes?limit={limit}", headers=bearer(owner)), 400, "bad_limit")
