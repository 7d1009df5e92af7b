"""The public-health page in headless Chromium (issue 18 point 5): an officer signs in, names the
approval and the window, and reads the day's flows between estates and grids as tables and a chart."""

from __future__ import annotations

import inspect
import re
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from gridgate import clock, i18n
from gridgate.adapters.events import EventRepository
from gridgate.adapters.flow_approvals import FlowApprovalRepository
from gridgate.adapters.repositories import PlaceRepository
from gridgate.domain.flow_query_records import FlowQueryApproval
from gridgate.domain.model import AccessEvent, AccessMethod, Direction, Outcome, Place, PlaceKind
from gridgate.i18n import LOCALES, catalogue

from .conftest import assert_glyphs_render, screenshot, sign_in

#: The two estates' and their grids' names, as the page must show them (ids only as tooltips).
NAMES = (("翠屏东苑", "翠屏第一网格"), ("翠屏西苑", "翠屏第二网格"))


def _seed(tag: str):
    """Two estates in two grids; one person walks from the first to the second, two days ago (local 10:00)."""
    now = clock.now()
    city = clock.city_clock()
    morning = city.local_midnight(city.local_date(now) - timedelta(days=2)) + timedelta(hours=10)
    estates = {f"EA-{tag}": f"GA-{tag}", f"EB-{tag}": f"GB-{tag}"}
    for (estate, grid), (estate_name, grid_name) in zip(estates.items(), NAMES):
        PlaceRepository().add(Place(grid, PlaceKind.GRID, grid_name, None, {}))
        PlaceRepository().add(Place(estate, PlaceKind.ESTATE, estate_name, grid, {PlaceKind.GRID: grid}))
    walk = [(f"EA-{tag}", Direction.OUT, 0), (f"EB-{tag}", Direction.IN, 20), (f"EB-{tag}", Direction.IN, 25)]
    for n, (estate, direction, minutes) in enumerate(walk):
        EventRepository().append(
            AccessEvent(
                event_id=f"{estate}-G1:{n}",
                gate_id=f"{estate}-G1",
                estate_id=estate,
                direction=direction,
                occurred_at=morning + timedelta(minutes=minutes),
                method=AccessMethod.RESIDENT_QR,
                outcome=Outcome.OPEN if direction == Direction.IN else Outcome.RECORDED,
                reason="ok",
                person_id=f"P-walker-{tag}" if n < 2 else f"P-other-{tag}",
            )
        )
    approval_id = f"A-{tag}"
    FlowApprovalRepository().add(
        FlowQueryApproval(
            approval_id,
            "ph-1",
            "cdc-director",
            "宁卫疾控〔2026〕9号",
            "密接排查",
            frozenset(estates),
            frozenset(),
            frozenset(),
            now - timedelta(days=5),
            now,
            now + timedelta(days=3),
            False,
            now,
        )
    )
    return approval_id, morning


def _ask(page, approval_id: str, start, end) -> None:
    local = clock.city_clock()
    page.fill("#approval", approval_id)
    page.fill("#from", local.local_time(start).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#to", local.local_time(end).strftime("%Y-%m-%dT%H:%M"))
    page.click("#show")


@pytest.fixture(params=["desktop", "phone"])
def page(request):
    """The page at desktop width and at a 390 px phone's."""
    return request.getfixturevalue(request.param)


@pytest.mark.usefixtures("moto_server")
def test_an_officer_reads_the_days_flows_as_tables_and_a_chart(page, app_url):
    tag = uuid.uuid4().hex[:6]
    approval_id, morning = _seed(tag)
    (east, east_grid), (west, west_grid) = NAMES
    sign_in(page, app_url, "ph-1", "public-health")
    expect(page.locator("#dashboard")).to_be_visible()
    _ask(page, approval_id, morning - timedelta(hours=2), morning + timedelta(hours=2))
    expect(page.locator("#results")).to_be_visible()
    day = clock.city_clock().local_date(morning).isoformat()
    rows = page.locator("#between-estates tbody tr")
    expect(rows).to_have_count(1)
    assert rows.first.locator("td").all_inner_texts() == [day, east, west, "1"]
    assert rows.first.locator("td").nth(1).get_attribute("title") == f"EA-{tag}"  # the id, for the record
    grids = page.locator("#between-grids tbody tr").first.locator("td").all_inner_texts()
    assert grids == [day, east_grid, west_grid, "1"]
    estates = [r.locator("td").all_inner_texts() for r in page.locator("#estates tbody tr").all()]
    assert [day, west, west_grid, "2", "0", "2"] in estates
    expect(page.locator("#chart svg")).to_have_count(1)
    chart_texts = page.locator("#chart svg text").all_text_contents()
    assert "各小区每日进入人次" in chart_texts and west in chart_texts  # the legend names estates
    assert "宁卫疾控〔2026〕9号" in page.locator("#case").inner_text()
    assert_glyphs_render(page, "#results th, #results h2, #case")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    screenshot(page, "public-health")


@pytest.mark.usefixtures("moto_server")
def test_a_window_outside_the_approval_is_refused_in_chinese(desktop, app_url):
    tag = uuid.uuid4().hex[:6]
    approval_id, morning = _seed(tag)
    sign_in(desktop, app_url, "ph-1", "public-health")
    expect(desktop.locator("#dashboard")).to_be_visible()
    _ask(desktop, approval_id, morning - timedelta(days=9), morning - timedelta(days=8))
    expect(desktop.locator("#status")).to_have_text("查询时段超出了审批的时段。")
    expect(desktop.locator("#results")).to_be_hidden()


def test_staff_of_other_roles_cannot_sign_in_to_query(desktop, app_url):
    sign_in(desktop, app_url, "staff-1", "public-health")
    expect(desktop.locator("#dashboard")).to_be_visible()
    desktop.fill("#approval", "A-any")
    desktop.fill("#from", "2026-01-01T00:00")
    desktop.fill("#to", "2026-01-02T00:00")
    # beside each box, the instant in the city's words (the box itself is drawn in the browser's format)
    expect(desktop.locator("#from-shown")).to_have_text("2026年1月1日星期四 00:00（北京时间）")
    expect(desktop.locator("#to-shown")).to_have_text("2026年1月2日星期五 00:00（北京时间）")
    desktop.click("#show")
    expect(desktop.locator("#status")).to_have_text(i18n.catalogue("zh_CN")["error.forbidden"])


_REFUSAL = re.compile(r"""(?:Invalid|NotAllowed|NotFound|Conflict)\(\s*["']([a-z_]+)["']""")


def _query_refusals() -> set[str]:
    """The codes a flow query can be refused with: its route, its service, the checks it runs."""
    from chalicelib.blueprints import public_health
    from gridgate.public_health import approval_rules, flow_queries

    sources = [
        inspect.getsource(public_health),
        inspect.getsource(flow_queries.FlowQueries),
        *(
            inspect.getsource(f)
            for f in (approval_rules.authorise, approval_rules.check_window, approval_rules.check_minutes)
        ),
    ]
    return {code for source in sources for code in _REFUSAL.findall(source)}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_refusal_of_a_flow_query_has_a_text_for_the_page(locale):
    codes = _query_refusals()
    assert {"outside_approval_scope", "approval_expired", "bad_minutes", "export_not_approved"} <= codes
    assert sorted(code for code in codes if f"error.{code}" not in catalogue(locale)) == []
