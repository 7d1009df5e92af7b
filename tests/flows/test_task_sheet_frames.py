"""The flow's column-wise sheets are the grid-worker function's sheets, byte for byte.

`task_sheet_frames.render_sheets` renders every grid at once from a frame; `task_sheets` renders
one list in plain Python. Hostile text (quotes, commas, newlines, markup, CJK) in every field a
finding or a home carries must come out quoted and escaped exactly as the plain renderer does,
in both languages, across batch boundaries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridgate.analytics import task_sheet_frames
from gridgate.analytics.task_sheet_frames import render_sheets, tasks_frame, template
from gridgate.domain.model import TaskStatus, VerificationTask
from gridgate.grid_work.task_sheets import TaskListDetails, to_csv, to_html

DAY = date(2026, 12, 3)
CREATED = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)

#: What breaks a CSV or a page if a renderer forgets it, and text people really write.
HOSTILE = st.sampled_from(
    [
        ",",
        '"',
        "\n",
        "\r",
        "\r\n",
        "<",
        ">",
        "&",
        "'",
        "&amp;",
        "<script>alert(1)</script>",
        " · ",
        "梅园新村",
        "室",
        " ",
    ]
)
TEXT = st.lists(st.one_of(HOSTILE, st.text(st.characters(exclude_categories=("Cs",)), max_size=4)), max_size=4).map(
    "".join
)
ID = st.one_of(st.sampled_from(["E1", "B-01", "0302", "1"]), TEXT)


@st.composite
def verification_tasks(draw) -> VerificationTask:
    finding = draw(st.one_of(st.sampled_from(["f-1", "f-2", "f-3"]), TEXT))
    return VerificationTask(
        task_id=f"t-{finding}-{draw(st.integers(1, 3))}",
        grid_id=draw(st.sampled_from(["G1", "G2", "G10", "格-3"])),
        finding_id=finding,
        priority=draw(st.integers(1, 3)),
        walking_order=(draw(ID), draw(ID), draw(ID), draw(st.integers(-2, 40)), draw(ID)),
        home_id=draw(ID),
        summary=draw(TEXT),
        created_at=CREATED,
        person_id=draw(st.one_of(st.none(), st.just(""), ID)),
        finding_type=draw(st.one_of(st.sampled_from(["resident_not_seen", "grants_over_cap"]), TEXT)),
    )


def plain_sheets(tasks: list[VerificationTask], reasons: dict[str, str], locale: str | None) -> dict:
    by_grid: dict[str, list[VerificationTask]] = {}
    for task in tasks:
        by_grid.setdefault(task.grid_id, []).append(task)
    details = TaskListDetails(reasons=reasons)
    return {
        grid: (len(grid_tasks), to_csv(grid_tasks).encode(), to_html(grid, grid_tasks, DAY, locale, details).encode())
        for grid, grid_tasks in sorted(by_grid.items())
    }


def column_sheets(tasks: list[VerificationTask], reasons: dict[str, str], locale: str | None) -> dict:
    sheets = render_sheets(tasks_frame(tasks, reasons), DAY, locale)
    return {sheet.grid_id: (sheet.open_tasks, sheet.csv, sheet.html) for sheet in sheets}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tasks=st.lists(verification_tasks(), max_size=30, unique_by=lambda task: task.task_id),
    explained=st.data(),
    locale=st.sampled_from([None, "zh_CN", "en"]),
)
def test_every_grid_is_rendered_as_the_plain_renderer_renders_its_list(tasks, explained, locale):
    reasons = {task.task_id: explained.draw(TEXT) for task in tasks if explained.draw(st.booleans())}
    assert list(column_sheets(tasks, reasons, locale).items()) == list(plain_sheets(tasks, reasons, locale).items())


def test_grids_split_across_batches_are_numbered_from_one_and_kept_whole(monkeypatch):
    monkeypatch.setattr(task_sheet_frames, "BATCH_ROWS", 3)
    tasks = [
        VerificationTask(
            task_id=f"t-{grid}-{n:02d}",
            grid_id=grid,
            finding_id=f"f-{grid}-{n}",
            priority=1 + n % 3,
            walking_order=("E1", f"B{n % 2}", "1", n, "01"),
            home_id=f"H-{grid}-{n}",
            summary="不在家",
            created_at=CREATED,
            status=TaskStatus.OPEN,
        )
        for grid, count in (("G1", 5), ("G2", 1), ("G3", 2), ("G4", 7))
        for n in range(count)
    ]
    column = column_sheets(tasks, {}, None)
    assert [(grid, count) for grid, (count, _, _) in column.items()] == [("G1", 5), ("G2", 1), ("G3", 2), ("G4", 7)]
    assert column == plain_sheets(tasks, {}, None)
    g4_orders = [line.split(b",")[0] for line in column["G4"][1].splitlines()[1:]]
    assert g4_orders == [str(n).encode() for n in range(1, 8)]


def test_markup_in_a_finding_never_reaches_the_page_raw():
    task = VerificationTask(
        task_id="t-x-1",
        grid_id="G1",
        finding_id="f-x",
        priority=1,
        walking_order=("<b>E1</b>", "B1", "1", 3, "0302"),
        home_id="H1",
        summary="<script>alert(1)</script>",
        created_at=CREATED,
        finding_type="<img src=x onerror=alert(1)>",
    )
    (sheet,) = render_sheets(tasks_frame([task]), DAY)
    assert b"<script>" not in sheet.html and b"<img" not in sheet.html and b"<b>E1" not in sheet.html
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in sheet.html


def test_no_tasks_no_sheets():
    assert list(render_sheets(tasks_frame([]), DAY)) == []


def test_a_template_field_with_a_format_is_refused():
    with pytest.raises(ValueError, match="format"):
        template("{floor:03d}层", {})


def test_two_tasks_at_one_door_are_in_task_id_order_whatever_order_they_come_in():
    door = ("E1", "B1", "1", 3, "0302")
    tasks = [
        VerificationTask(
            f"t-{n}-1", "G1", f"f-{n}", 2, door, "H1", f"task {n}", CREATED, finding_type="resident_not_seen"
        )
        for n in ("c", "b", "a")
    ]
    csv = column_sheets(tasks, {}, None)["G1"][1].decode()
    assert [line.split(",")[11] for line in csv.splitlines()[1:]] == ["t-a-1", "t-b-1", "t-c-1"]
    assert column_sheets(tasks, {}, None) == plain_sheets(tasks, {}, None)
