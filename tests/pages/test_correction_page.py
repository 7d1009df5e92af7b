"""The correction officer's page in headless Chromium (issue 18 point 4): the community-correction
alerts of their grids, the person by name and registered address, the reason in words, codes in
small print; each view audited; every other role is refused, in Chinese."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from gridgate import i18n
from gridgate.adapters.audit import AuditLog

from . import city
from .conftest import assert_glyphs_render, screenshot, serious_violations, sign_in

pytestmark = pytest.mark.usefixtures("clean_tables")


def test_the_officer_reads_the_alert_in_words_and_the_view_is_audited(desktop, app_url, protector):
    city.places()
    person = city.correction_alert(protector)
    sign_in(desktop, app_url, "co-1", "correction")
    alert = desktop.locator("#alerts li").first
    expect(alert.locator(".who")).to_have_text("周正", timeout=30_000)
    expect(desktop.locator("#alerts-heading")).to_have_text("待处理预警（1）")
    assert alert.locator(".kind").inner_text() == "社区矫正对象异常时段出入"
    assert alert.locator(".address").inner_text() == "梅园新村 / B-01栋 / 2单元 3层 0302室"
    assert alert.locator(".reason").inner_text() == (
        "社区矫正人员：2026-11-20 在 23:00-05:00（北京时间）之间经过门禁 2 次，第一次在 2026-11-20 23:40。"
    )
    assert alert.locator(".detected").inner_text() == "发现于 2026-11-21 10:00（北京时间）"
    assert person in alert.locator(".code").inner_text()
    views = [r for r in AuditLog().about(f"person#{person}") if r.action == "correction.alert.viewed"]
    assert [v.actor for v in views] == ["co-1"] and views[0].detail["fields"] == ["name", "address"]
    assert_glyphs_render(desktop, "#alerts-heading, #alerts li")
    screenshot(desktop, "correction")


def test_the_page_fits_a_phone_and_axe_finds_nothing_serious(browser, app_url, protector):
    city.places()
    city.correction_alert(protector)
    context = browser.new_context(
        viewport={"width": 390, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai", bypass_csp=True
    )
    phone = context.new_page()
    try:
        sign_in(phone, app_url, "co-1", "correction")
        expect(phone.locator("#alerts li .who")).to_have_text("周正", timeout=30_000)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert serious_violations(phone) == []
        screenshot(phone, "correction")
    finally:
        context.close()


@pytest.mark.parametrize("staff", ["worker-7", "staff-1"])
def test_other_roles_get_the_refusal_in_chinese(desktop, app_url, protector, staff):
    city.places()
    person = city.correction_alert(protector)
    sign_in(desktop, app_url, staff, "correction")
    expect(desktop.locator("#status")).to_have_text(i18n.catalogue("zh_CN")["error.forbidden"])
    assert desktop.locator("#alerts li").count() == 0
    assert [r for r in AuditLog().about(f"person#{person}") if r.action == "correction.alert.viewed"] == []
