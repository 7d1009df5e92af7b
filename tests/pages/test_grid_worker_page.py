"""The grid worker's phone page in headless Chromium: sign in (through the emulated city IdP), tasks in walking order, a home's
roster, submit a result, and see the change (in the page and in the table)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from gridgate.adapters.findings import VerificationTaskRepository
from gridgate.domain.model import TaskResult, TaskStatus
from gridgate.security.tokens import issue_token

from . import city
from .conftest import assert_glyphs_render, screenshot, sign_in, unrendered_glyphs

pytestmark = pytest.mark.usefixtures("clean_tables")


def test_worker_signs_in_submits_a_result_and_sees_the_change(phone, app_url, protector):
    city.places()
    first_task, _ = city.home_with_task(protector, "H-0001-0501")
    second_task, _ = city.home_with_task(protector, "H-0001-0301")  # lower floor: walked first
    sign_in(phone, app_url, "worker-7")
    tasks = phone.locator("#tasks li")
    expect(phone.locator("#tasks-status")).to_have_text("2 项待办任务")
    assert [tasks.nth(i).get_attribute("data-task-id") for i in range(2)] == [second_task, first_task]
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # fits a phone screen
    assert phone.locator("html").get_attribute("lang") == "zh-CN"
    # the CJK fallbacks reach the browser (an escaped quote in the rule would void the whole stack)
    assert "WenQuanYi Micro Hei" in phone.evaluate("getComputedStyle(document.body).fontFamily")
    assert tasks.first.locator(".where").inner_text() == "梅园新村 · B-01 · 1单元 · 3层 · 0301室"
    assert phone.locator("#grid option:checked").inner_text() == "第一网格（D-01-S1-C1-G1）"  # a name, not a code
    # who by name, the kind and the reason in words; the codes in small print
    first = tasks.first.inner_text()
    assert "李雷 · 居民长期未出现" in first and "登记住在本户，但已连续 30 天未经过任何门禁：可能已搬离。" in first
    assert tasks.first.locator(".code").inner_text() == "编号 H-0001-0301 · P-H-0001-0301-2"
    assert "Registered resident not seen" not in first
    screenshot(phone, "grid-worker-tasks")

    tasks.nth(1).click()
    expect(phone.locator("#roster .person")).to_have_count(2)
    assert phone.locator("#home-title").inner_text() == "梅园新村 · B-01 · 1单元 · 5层 · 0501室"
    assert phone.locator("#home-code").inner_text() == "编号 H-0001-0501"
    assert sorted(phone.locator("#roster .person").all_inner_texts())[0].startswith("李雷")
    assert_glyphs_render(phone, "#roster .person .name")
    screenshot(phone, "grid-worker-roster")
    phone.check("input[name=result][value=confirmed]")
    phone.fill("#note", "both at home")
    phone.click("#submit")

    expect(phone.locator("#tasks li")).to_have_count(1)
    expect(phone.locator("#tasks-status")).to_contain_text("已为住户 H-0001-0501 保存“已核实”")
    assert phone.locator("#tasks li").first.get_attribute("data-task-id") == second_task
    stored = VerificationTaskRepository().get(city.GRID, first_task)
    assert stored.status != TaskStatus.OPEN and stored.result == TaskResult.CONFIRMED


def test_worker_marks_a_person_moved_out(phone, app_url, protector):
    city.places()
    task_id, person_id = city.home_with_task(protector)
    sign_in(phone, app_url, "worker-7")
    phone.locator("#tasks li").first.click()
    phone.locator(f"input.moved-out[data-person-id='{person_id}']").check()
    phone.check("input[name=result][value=corrected]")
    phone.click("#submit")
    expect(phone.locator("#tasks-status")).to_contain_text("保存“已更正”")
    stored = VerificationTaskRepository().get(city.GRID, task_id)
    assert stored.result == TaskResult.CORRECTED
    from gridgate.adapters.repositories import PersonRepository

    assert PersonRepository(protector).get(person_id).registered_home_id is None


def test_a_worker_of_another_grid_sees_no_tasks_of_this_one(phone, app_url, protector):
    city.places()
    city.home_with_task(protector)
    sign_in(phone, app_url, "worker-8")
    expect(phone.locator("#tasks-status")).to_contain_text("没有待办任务")
    assert phone.locator("#tasks li").count() == 0


def test_corrected_with_nobody_marked_says_what_to_do(phone, app_url, protector):
    """Ticking "Corrected" without marking anyone is caught on the phone, in words, before sending."""
    city.places()
    task_id, _ = city.home_with_task(protector)
    sign_in(phone, app_url, "worker-7")
    phone.locator("#tasks li").first.click()
    expect(phone.locator("#roster .person")).to_have_count(2)
    phone.check("input[name=result][value=corrected]")
    phone.click("#submit")
    expect(phone.locator("#submit-status")).to_have_text("选择“已更正”时，请至少勾选一位已搬离的人。")
    assert VerificationTaskRepository().get(city.GRID, task_id).status == TaskStatus.OPEN


def test_the_page_speaks_english_when_asked(desktop, app_url, protector):
    city.places()
    city.home_with_task(protector)
    sign_in(desktop, app_url, "worker-7", lang="en")
    assert desktop.locator("html").get_attribute("lang") == "en"
    expect(desktop.locator("#tasks-status")).to_have_text("1 open task(s)")
    expect(desktop.locator("#tasks li").first).to_contain_text("Resident not seen for a long time")
    # the reason in the page's language too, though this browser asks for Chinese first
    expect(desktop.locator("#tasks li").first).to_contain_text(
        "Registered here but has passed no gate at all for 30 days: moved out?"
    )
    screenshot(desktop, "grid-worker-tasks-en")


def test_tasks_filter_by_kind_and_building_and_page(phone, app_url, protector):
    """25 homes over two buildings: 20 to a page, and the filters narrow the list."""
    city.places()
    for n in range(25):
        city.home_with_task(protector, f"H-0001-{n:04d}", building="B-01" if n < 15 else "B-02")
    sign_in(phone, app_url, "worker-7")
    expect(phone.locator("#tasks-status")).to_have_text("25 项待办任务")
    expect(phone.locator("#tasks li")).to_have_count(20)
    expect(phone.locator("#page-of")).to_have_text("第 1 / 2 页，共 25 条")
    phone.click("#next")
    expect(phone.locator("#tasks li")).to_have_count(5)
    phone.select_option("#building", "B-02")
    expect(phone.locator("#tasks li")).to_have_count(10)
    assert phone.locator("#pager").is_hidden()
    phone.select_option("#kind", "resident_not_seen")
    expect(phone.locator("#tasks li")).to_have_count(10)
    assert phone.locator("#kind option:checked").inner_text() == "居民长期未出现"
    screenshot(phone, "grid-worker-filtered")


def test_the_glyph_check_catches_a_character_no_font_has(phone, app_url):
    """The tofu check itself: a CJK Extension-D character (in no installed font) is reported."""
    phone.goto(f"{app_url}/pages/grid-worker")
    phone.evaluate(
        "document.body.append(Object.assign(document.createElement('p'), {id: 'probe', textContent: '\\u{2B81D}王'}))"
    )
    checked, missing = unrendered_glyphs(phone, "#probe")
    assert checked == 2 and missing == ["\U0002b81d"]


def test_a_result_made_without_signal_is_queued_and_sent_once_when_it_returns(phone, app_url, protector):
    """Network cut: the result waits in IndexedDB and the page says so; network back: it is sent
    and stored; sending the same queued entry again (a lost answer) changes nothing."""
    city.places()
    task_id, _ = city.home_with_task(protector)
    sign_in(phone, app_url, "worker-7")
    expect(phone.locator("#tasks li")).to_have_count(1)
    phone.locator("#tasks li").first.click()
    expect(phone.locator("#roster .person")).to_have_count(2)
    phone.context.set_offline(True)
    phone.fill("#note", "都在家")
    phone.click("#submit")
    expect(phone.locator("#pending")).to_have_text("1 项结果待发送：有信号时自动发送")
    expect(phone.locator("#tasks-status")).to_contain_text("没有信号：结果已保存在手机上")
    assert VerificationTaskRepository().get(city.GRID, task_id).status == TaskStatus.OPEN
    queued = phone.evaluate("""() => new Promise((resolve) => { const open = indexedDB.open("gridgate-grid-worker", 1);
        open.onsuccess = () => { const all = open.result.transaction("results").objectStore("results").getAll();
        all.onsuccess = () => resolve(all.result); }; })""")
    assert [entry["task_id"] for entry in queued] == [task_id]
    screenshot(phone, "grid-worker-offline")

    phone.context.set_offline(False)  # the browser fires "online": the queue is sent
    expect(phone.locator("#pending")).to_be_hidden()
    expect(phone.locator("#tasks-status")).to_contain_text("已发送 1 项离线保存的结果。")
    stored = VerificationTaskRepository().get(city.GRID, task_id)
    assert stored.status != TaskStatus.OPEN and stored.result == TaskResult.CONFIRMED

    again = phone.evaluate(
        """async ([entry, token]) => {
        const r = await fetch(`/grid/${entry.grid}/tasks/${entry.task_id}/result`, { method: "POST",
          headers: { "Content-Type": "application/json", "Idempotency-Key": entry.key, "Authorization": "Bearer " + token },
          body: JSON.stringify(entry.body) });
        return [r.status, await r.json()]; }""",
        [queued[0], issue_token("worker-7", ["grid_worker"], [city.GRID])],
    )
    assert again[0] == 200 and again[1].get("replayed") is True  # the first answer, not a second write
    assert VerificationTaskRepository().get(city.GRID, task_id) == stored


def test_the_printed_sheet_names_people_and_places_with_plain_reasons_and_audits_each_name(app_url, protector):
    """The sheet a worker prints: the person's name, the estate by name and the address, the reason
    in Chinese; codes in small print; each name read is in the audit log."""
    import urllib.request

    from gridgate.adapters.audit import AuditLog

    city.places()
    _, person_id = city.home_with_task(protector)
    request = urllib.request.Request(
        f"{app_url}/grid/{city.GRID}/tasks?format=html",
        headers={"Authorization": "Bearer " + issue_token("worker-7", ["grid_worker"], [city.GRID])},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        sheet = response.read().decode()
    assert "<b>李雷</b><br><small>E-0001 · H-0001-0501 · P-H-0001-0501-2</small>" in sheet
    assert "<td>梅园新村 / B-01栋 / 1单元 5层 0501室</td>" in sheet
    assert "登记住在本户，但已连续 30 天未经过任何门禁：可能已搬离。" in sheet and "Registered resident" not in sheet
    reads = [r for r in AuditLog().about(f"person#{person_id}") if r.action == "personal_data.read"]
    assert [(r.actor, r.detail["purpose"], r.detail["fields"]) for r in reads] == [
        ("worker-7", "door-to-door verification (html)", ["name"])
    ]


def test_a_page_opened_without_signal_signs_in_when_the_signal_returns(phone, app_url, protector):
    """The service worker's copy opens offline (the session cannot be checked then); back online,
    the session is refreshed and the tasks appear without signing in again."""
    city.places()
    city.home_with_task(protector)
    sign_in(phone, app_url, "worker-7")
    expect(phone.locator("#tasks li")).to_have_count(1)
    phone.reload()  # the service worker now controls the page and keeps its copy
    expect(phone.locator("#tasks li")).to_have_count(1)
    phone.context.set_offline(True)
    phone.reload()
    expect(phone.locator("#sign-in")).to_be_visible()
    phone.context.set_offline(False)
    expect(phone.locator("#tasks li")).to_have_count(1)
    expect(phone.locator("#signed-in-as")).to_have_text("张伟（工号 worker-7）")
