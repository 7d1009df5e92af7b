"""The data-center page in headless Chromium: statistics with charts, drill-down, findings and
alerts, Prefect links; and the overview endpoint's refusals."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from gridgate.security.tokens import issue_token
from playwright.sync_api import expect

from . import city
from .conftest import PREFECT_UI, assert_glyphs_render, screenshot

pytestmark = pytest.mark.usefixtures("clean_tables")


def _signed_in(page, app_url):
    page.goto(f"{app_url}/pages/data-center")
    page.fill("#token", issue_token("staff-1", ["data_center"]))
    page.click("#sign-in-button")


def test_staff_see_statistics_charts_findings_and_drill_down(desktop, app_url):
    city.places()
    city.statistics_and_findings()
    desktop.goto(f"{app_url}/pages/data-center")
    desktop.fill("#token", issue_token("staff-1", ["data_center"]))
    desktop.click("#sign-in-button")

    row = desktop.locator(f"#places tr[data-place-id='{city.DISTRICT}']")
    expect(row).to_have_count(1)
    cells = row.locator("td").all_inner_texts()
    assert cells[0].splitlines() == ["玄武区", city.DISTRICT] and "120" in cells and "35" in cells and "480" in cells
    headers = desktop.locator("#places th").all_inner_texts()
    assert headers[-2:] == ["已授权", "授权上限"] and cells[-2:] == ["41", "60"]  # grants.active / grants.cap
    assert desktop.locator("#charts svg").count() == 3
    assert "居民构成" in desktop.locator("#charts svg").first.get_attribute("aria-label")
    assert "独居人员长时间未外出" in desktop.locator("#alerts").inner_text()
    assert "授权人数超过上限" in desktop.locator("#findings").inner_text()
    assert "2026-11-21 10:00（北京时间）" in desktop.locator("#findings").inner_text()  # 02:00 UTC
    assert_glyphs_render(desktop, "#places td, #places th, #findings li, #charts text")
    screenshot(desktop, "data-center")
    assert desktop.locator("#day").input_value() == city.DAY.isoformat()
    links = desktop.locator("#prefect-links a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        f"{PREFECT_UI}/runs", f"{PREFECT_UI}/deployments",
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
    assert "script-src 'sha256-" in policy and "unsafe-inline" not in policy


def test_the_page_fits_a_phone(phone, app_url):
    city.places()
    city.statistics_and_findings()
    _signed_in(phone, app_url)
    expect(phone.locator(f"#places tr[data-place-id='{city.DISTRICT}']")).to_have_count(1)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    widths = phone.eval_on_selector_all("#charts svg", "nodes => nodes.map((n) => n.getBoundingClientRect().right)")
    assert widths and max(widths) <= 390
    screenshot(phone, "data-center")


def test_findings_page_on_and_follow_the_chosen_day(desktop, app_url):
    """30 findings: 25 shown with the total, "more" shows the rest; an earlier day shows none."""
    from datetime import timedelta

    from gridgate.adapters.findings import FindingRepository
    from gridgate.domain.model import Finding, Severity

    city.places()
    city.statistics_and_findings()
    FindingRepository().sync([
        Finding(f"F-many-{n:02d}", "grants_over_cap", Severity.MEDIUM, city.GRID, f"home#H-{n:04d}",
                {"grants": 5, "cap": 3, "explanation": "5 people granted, cap 3"}, city.NOW + timedelta(minutes=n))
        for n in range(29)
    ])
    _signed_in(desktop, app_url)
    expect(desktop.locator("#findings li")).to_have_count(25)
    expect(desktop.locator("#findings-count")).to_have_text("共 30 条，显示 25 条")
    assert "5 people granted, cap 3" in desktop.locator("#findings li").first.inner_text()
    desktop.click("#findings-more")
    expect(desktop.locator("#findings li")).to_have_count(30)
    assert desktop.locator("#findings-more").is_hidden()
    desktop.fill("#day", (city.DAY - timedelta(days=3)).isoformat())
    desktop.click("#reload")
    expect(desktop.locator("#findings li")).to_have_text(["没有未处理的发现。"])
