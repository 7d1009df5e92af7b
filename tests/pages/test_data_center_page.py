"""The data-center page in headless Chromium: statistics with charts, drill-down, findings and
alerts, Prefect links; and the overview endpoint's refusals."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from gridgate.security.tokens import issue_token

from . import city
from .conftest import PREFECT_UI, assert_glyphs_render, screenshot, sign_in

pytestmark = pytest.mark.usefixtures("clean_tables")


def _signed_in(page, app_url):
    sign_in(page, app_url, "staff-1", "data-center")


def test_staff_see_statistics_charts_findings_and_drill_down(desktop, app_url):
    city.places()
    city.statistics_and_findings()
    _signed_in(desktop, app_url)

    row = desktop.locator(f"#places tr[data-place-id='{city.DISTRICT}']")
    expect(row).to_have_count(1)
    cells = row.locator("td").all_inner_texts()
    assert cells[0].splitlines() == ["玄武区", city.DISTRICT] and "120" in cells and "35" in cells and "480" in cells
    headers = desktop.locator("#places th").all_inner_texts()
    assert headers[-2:] == ["已授权", "授权上限"] and cells[-2:] == ["41", "60"]  # grants.active / grants.cap
    # drawn by Apache ECharts (served by the app), one SVG per chart, titled from the catalogue; the
    # day has no visitors, so that chart says so instead of drawing bare axes
    expect(desktop.locator("#charts .chart svg")).to_have_count(2)
    expect(desktop.locator("#charts [data-chart-empty]")).to_have_count(1)
    expect(desktop.locator("#charts [data-chart-empty]")).to_contain_text("当日暂无数据")
    assert desktop.evaluate(
        "[...document.querySelectorAll('#charts .chart:not(.chart-empty)')].every((box) => echarts.getInstanceByDom(box))"
    )
    assert desktop.locator("#charts .chart").first.get_attribute("aria-label").startswith("居民构成")
    assert "居民构成" in desktop.locator("#charts .chart").first.locator("svg text").all_text_contents()
    ticks = [
        int(text)
        for text in desktop.locator("#charts [data-chart=residents] svg text").all_text_contents()
        if text.isdigit()
    ]
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0 and ticks[-1] >= 120 and all(b - a == step for a, b in zip(ticks, ticks[1:]))
    assert str(step)[0] in "125" and set(str(step)[1:]) <= {"0"}, ticks  # round steps: 1, 2, 5 × 10^n
    assert "独居人员长时间未外出" in desktop.locator("#alerts").inner_text()
    assert "授权人数超过上限" in desktop.locator("#findings").inner_text()
    assert "2026-11-21 10:00（北京时间）" in desktop.locator("#findings").inner_text()  # 02:00 UTC
    assert_glyphs_render(desktop, "#places td, #places th, #findings li, #charts text")
    screenshot(desktop, "data-center")
    assert desktop.locator("#day").input_value() == city.DAY.isoformat()
    # the day in the city's format beside the date input, whatever the browser draws inside it
    day = city.DAY
    assert desktop.locator("#day-shown").inner_text().startswith(f"{day.year}年{day.month}月{day.day}日")
    assert f"{day.year}年{day.month}月{day.day}日" in desktop.locator("#status").inner_text()
    links = desktop.locator("#prefect-links a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        f"{PREFECT_UI}/runs",
        f"{PREFECT_UI}/deployments",
    ]

    row.locator("button").click()  # drill down into the district
    street_row = desktop.locator(f"#places tr[data-place-id='{city.STREET}']")
    expect(street_row).to_have_count(1)
    assert "17" in street_row.locator("td").all_inner_texts()
    assert "玄武区" in desktop.locator("#crumbs").inner_text()


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_overview_needs_the_data_center_role_and_a_known_place(app_url):
    overview = f"{app_url}/pages/data-center/overview"
    assert _get(overview)[0] == 401
    status, body = _get(overview, issue_token("worker-7", ["grid_worker"], [city.GRID]))
    assert status == 403 and body["code"] == "forbidden"
    staff = issue_token("staff-1", ["data_center"])
    assert _get(f"{overview}?parent=NOPE", staff)[1]["code"] == "unknown_place"
    assert _get(f"{overview}?day=someday", staff)[1]["code"] == "bad_day"
    assert _get(f"{overview}?parent=%3Cscript%3E", staff)[1]["code"] == "bad_place"


def test_pages_carry_a_strict_content_security_policy(app_url):
    with urllib.request.urlopen(f"{app_url}/pages/grid-worker") as response:
        policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "script-src 'self' 'sha256-" in policy and "unsafe-inline" not in policy


def test_the_app_serves_the_chart_library_from_npm(app_url):
    from pathlib import Path

    npm_copy = Path(__file__).resolve().parents[2] / "node_modules" / "echarts" / "dist" / "echarts.min.js"
    with urllib.request.urlopen(f"{app_url}/pages/vendor/echarts.min.js") as response:
        assert response.headers["Content-Type"].startswith("text/javascript")
        assert response.read() == npm_copy.read_bytes()
    lock = json.loads((npm_copy.parents[3] / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/echarts"]["version"].startswith("6.")


def test_the_page_fits_a_phone(phone, app_url):
    city.places()
    city.statistics_and_findings()
    refused = []  # anything the page's Content-Security-Policy blocked (ECharts included)
    phone.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    _signed_in(phone, app_url)
    expect(phone.locator(f"#places tr[data-place-id='{city.DISTRICT}']")).to_have_count(1)
    expect(phone.locator("#charts .chart svg")).to_have_count(2)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    widths = phone.eval_on_selector_all("#charts svg", "nodes => nodes.map((n) => n.getBoundingClientRect().right)")
    assert widths and max(widths) <= 390
    sizes = phone.eval_on_selector_all(
        "#charts svg text", "nodes => nodes.map((n) => parseFloat(getComputedStyle(n).fontSize))"
    )
    assert sizes and min(sizes) >= 13  # readable on a phone
    screenshot(phone, "data-center")
    assert refused == []


def test_the_charts_follow_their_box_when_the_window_changes(desktop, app_url):
    city.places()
    city.statistics_and_findings()
    _signed_in(desktop, app_url)
    expect(desktop.locator("#charts .chart svg")).to_have_count(2)
    measure = "n => [n.getBoundingClientRect().width, n.parentElement.parentElement.clientWidth]"  # svg, its .chart box
    wide, wide_box = desktop.eval_on_selector("#charts svg", measure)
    desktop.set_viewport_size({"width": 390, "height": 900})
    for _ in range(50):  # the ResizeObserver redraws on the next frames (polled: the CSP forbids eval)
        narrow, narrow_box = desktop.eval_on_selector("#charts svg", measure)
        if narrow < 340:
            break
        desktop.wait_for_timeout(100)
    assert (
        abs(wide - wide_box) < 1 and abs(narrow - narrow_box) < 1 and narrow < 340 < wide
    )  # fills its box, at both widths
    sizes = desktop.eval_on_selector_all(
        "#charts svg text", "nodes => nodes.map((n) => parseFloat(getComputedStyle(n).fontSize))"
    )
    assert min(sizes) >= 13  # redrawn with the phone's text size


def test_findings_page_on_and_follow_the_chosen_day(desktop, app_url):
    """30 findings: 25 shown with the total, "more" shows the rest; an earlier day shows none."""
    from datetime import timedelta

    from gridgate.adapters.findings import FindingRepository
    from gridgate.domain.model import Finding, Severity

    city.places()
    city.statistics_and_findings()
    FindingRepository().sync(
        [
            Finding(
                f"F-many-{n:02d}",
                "grants_over_cap",
                Severity.MEDIUM,
                city.GRID,
                f"home#H-{n:04d}",
                {"grants": 5, "cap": 3, "explanation": "5 people granted, cap 3"},
                city.NOW + timedelta(minutes=n),
            )
            for n in range(29)
        ]
    )
    _signed_in(desktop, app_url)
    expect(desktop.locator("#findings li")).to_have_count(25)
    expect(desktop.locator("#findings-count")).to_have_text("共 30 条，显示 25 条")
    # the reason in the page's language, from the finding's evidence (the flow's English is not shown)
    first = desktop.locator("#findings li").first.inner_text()
    assert "本户有 5 项有效授权，但按面积上限为 3 项：可能存在群租。" in first and "5 people granted" not in first
    desktop.click("#findings-more")
    expect(desktop.locator("#findings li")).to_have_count(30)
    assert desktop.locator("#findings-more").is_hidden()
    desktop.fill("#day", (city.DAY - timedelta(days=3)).isoformat())
    desktop.click("#reload")
    expect(desktop.locator("#findings li")).to_have_text(["没有未处理的发现。"])
