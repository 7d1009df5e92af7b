"""The compliance report page in headless Chromium (issue 18 point 3): data-center staff read the
figures counted from the data, retention against policy and the recorded impact assessment."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from gridgate import clock, i18n
from gridgate.adapters.compliance_records import ImpactAssessmentRepository
from gridgate.adapters.repositories import FaceTemplateRepository
from gridgate.domain.legal_records import ImpactAssessment
from gridgate.domain.model import FaceTemplate, Registry

from .conftest import assert_glyphs_render, screenshot, sign_in

pytestmark = pytest.mark.usefixtures("clean_tables")


def _cells(page, table: str) -> list[list[str]]:
    return [row.locator("td").all_inner_texts() for row in page.locator(f"#{table} tbody tr").all()]


def test_staff_read_the_figures_retention_and_assessment(desktop, app_url):
    now = clock.now()
    FaceTemplateRepository().add(FaceTemplate("P-1", Registry.APP, 0, b"\0" * 512, now - timedelta(days=400)))
    FaceTemplateRepository().add(FaceTemplate("P-1", Registry.POPULATION, 0, b"\0" * 512, now - timedelta(days=3)))
    sign_in(desktop, app_url, "staff-1", "compliance")
    # the first report of a fresh app server scans the tables: allow it a loaded machine's time
    expect(desktop.locator("#assessment")).to_have_text(
        "尚未登记影响评估：处理人脸信息前必须完成评估。", timeout=30_000
    )
    figures = {cells[0]: cells[1] for cells in _cells(desktop, "figures")}
    assert figures["持有人脸信息的人数"] == "1"
    assert figures["基于法律规定（人口登记）的人脸模板"] == "1" and figures["无有效同意的应用人脸模板（应为 0）"] == "1"
    assert "暂无备案义务" in desktop.locator("#filing").inner_text()
    templates = next(cells for cells in _cells(desktop, "retention") if cells[0] == "人脸模板")
    assert templates == ["人脸模板", "365", "400", "1", "已超期"]
    ImpactAssessmentRepository().add(ImpactAssessment(date(2026, 5, 1), "v2", "dpo-1", now))
    desktop.reload()
    expect(desktop.locator("#assessment")).to_have_text("最近一次评估：2026-05-01，版本 v2，由 dpo-1 登记。")
    assert_glyphs_render(desktop, "#dashboard h2, #figures td, #retention th")
    screenshot(desktop, "compliance")


def test_the_report_fits_a_phone(phone, app_url):
    sign_in(phone, app_url, "staff-1", "compliance")
    expect(phone.locator("#figures tbody tr").first).to_be_visible(timeout=30_000)
    assert_glyphs_render(phone, "#dashboard h2, #figures td, #retention th")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "compliance")


def test_other_roles_get_the_refusal_in_chinese(desktop, app_url):
    sign_in(desktop, app_url, "worker-7", "compliance")
    expect(desktop.locator("#status")).to_have_text(i18n.catalogue("zh_CN")["error.forbidden"])
