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
from .conftest import PREFECT_UI

pytestmark = pytest.mark.usefixtures("clean_tables")


def test_staff_see_statistics_charts_findings_and_drill_down(desktop, app_url):
    city.places()
    city.statistics_and_findings()
    desktop.goto(f"{app_url}/pages/data-center")
    desktop.fill("#token", issue_token("staff-1", ["data_center"]))
    desktop.click("#sign-in-button")

    row = desktop.locator(f"#places tr[data-place-id='{city.DISTRICT}']")
    expect(row).to_have_count(1)
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "Xuanwu" and "120" in cells and "35" in cells and "480" in cells
    assert desktop.locator("#charts svg").count() == 3
    assert "Residents" in desktop.locator("#charts svg").first.get_attribute("aria-label")
    assert "living_alone_no_exit" in desktop.locator("#alerts").inner_text()
    assert "grants_over_cap" in desktop.locator("#findings").inner_text()
    assert desktop.locator("#day").input_value() == city.DAY.isoformat()
    links = desktop.locator("#prefect-links a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        f"{PREFECT_UI}/runs", f"{PREFECT_UI}/deployments",
    ]

    row.locator("button").click()  # drill down into the district
    street_row = desktop.locator(f"#places tr[data-place-id='{city.STREET}']")
    expect(street_row).to_have_count(1)
    assert "17" in street_row.locator("td").all_inner_texts()
    assert "Xuanwu" in desktop.locator("#crumbs").inner_text()


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
