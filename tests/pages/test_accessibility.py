"""axe-core (from npm, node_modules/axe-core) on both pages, signed in with data, at phone and
desktop width: no serious or critical violation (contrast, names of controls, language, ...).

The pages' Content-Security-Policy admits only their own inline script, so the browser context
of this test bypasses CSP to inject axe; nothing else about the pages changes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from . import city
from .conftest import screenshot, serious_violations, sign_in

pytestmark = pytest.mark.usefixtures("clean_tables")


@pytest.fixture(params=[390, 1280], ids=["phone", "desktop"])
def audited(browser, request):
    context = browser.new_context(
        viewport={"width": request.param, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai", bypass_csp=True
    )
    yield context.new_page()
    context.close()


def test_grid_worker_page_has_no_serious_violation(audited, app_url, protector):
    city.places()
    city.home_with_task(protector)
    audited.goto(f"{app_url}/pages/grid-worker")
    assert serious_violations(audited) == []  # the sign-in view
    sign_in(audited, app_url, "worker-7")
    expect(audited.locator("#tasks li")).to_have_count(1)
    assert serious_violations(audited) == []  # the task list
    audited.locator("#tasks li").first.click()
    expect(audited.locator("#roster .person")).to_have_count(2)
    assert serious_violations(audited) == []  # a home's roster and the result form


def test_data_center_page_has_no_serious_violation(audited, app_url):
    city.places()
    city.statistics_and_findings()
    sign_in(audited, app_url, "staff-1", "data-center")
    expect(audited.locator(f"#places tr[data-place-id='{city.DISTRICT}']")).to_have_count(1)
    assert serious_violations(audited) == []
    screenshot(audited, "data-center-audited")


def test_the_audit_catches_the_old_grey_status_text(audited, app_url):
    """The check itself: the #718096-on-white status text the pages used to have (4.0:1) fails."""
    audited.goto(f"{app_url}/pages/grid-worker")
    audited.evaluate("""document.querySelector('main').append(Object.assign(document.createElement('p'),
        {textContent: '没有待办任务：全部完成。', style: 'color:#718096;background:#fff;font-size:13px'}))""")
    assert any(v.startswith("color-contrast (serious)") for v in serious_violations(audited))
