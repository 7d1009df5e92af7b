"""The grid worker's phone page in headless Chromium: sign in, tasks in walking order, a home's
roster, submit a result, and see the change (in the page and in the table)."""

from __future__ import annotations

import pytest
from gridgate.adapters.findings import VerificationTaskRepository
from gridgate.domain.model import TaskResult, TaskStatus
from gridgate.security.tokens import issue_token
from playwright.sync_api import expect

from . import city

pytestmark = pytest.mark.usefixtures("clean_tables")


def _sign_in(page, app_url: str, token: str) -> None:
    page.goto(f"{app_url}/pages/grid-worker")
    page.fill("#token", token)
    page.click("#sign-in-button")


def test_worker_signs_in_submits_a_result_and_sees_the_change(phone, app_url, protector):
    city.places()
    first_task, _ = city.home_with_task(protector, "H-0001-0501")
    second_task, _ = city.home_with_task(protector, "H-0001-0301")  # lower floor: walked first
    token = issue_token("worker-7", ["grid_worker"], [city.GRID])

    _sign_in(phone, app_url, token)
    tasks = phone.locator("#tasks li")
    expect(phone.locator("#tasks-status")).to_have_text("2 open task(s)")
    assert [tasks.nth(i).get_attribute("data-task-id") for i in range(2)] == [second_task, first_task]
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # fits a phone screen

    tasks.nth(1).click()
    expect(phone.locator("#roster .person")).to_have_count(2)
    assert sorted(phone.locator("#roster .person").all_inner_texts())[0].startswith("Li Lei")
    phone.check("input[name=result][value=confirmed]")
    phone.fill("#note", "both at home")
    phone.click("#submit")

    expect(phone.locator("#tasks li")).to_have_count(1)
    expect(phone.locator("#tasks-status")).to_contain_text("Saved confirmed for home H-0001-0501")
    assert phone.locator("#tasks li").first.get_attribute("data-task-id") == second_task
    stored = VerificationTaskRepository().get(city.GRID, first_task)
    assert stored.status != TaskStatus.OPEN and stored.result == TaskResult.CONFIRMED


def test_worker_marks_a_person_moved_out(phone, app_url, protector):
    city.places()
    task_id, person_id = city.home_with_task(protector)
    _sign_in(phone, app_url, issue_token("worker-7", ["grid_worker"], [city.GRID]))
    phone.locator("#tasks li").first.click()
    phone.locator(f"input.moved-out[data-person-id='{person_id}']").check()
    phone.check("input[name=result][value=corrected]")
    phone.click("#submit")
    expect(phone.locator("#tasks-status")).to_contain_text("Saved corrected")
    stored = VerificationTaskRepository().get(city.GRID, task_id)
    assert stored.result == TaskResult.CORRECTED
    from gridgate.adapters.repositories import PersonRepository

    assert PersonRepository(protector).get(person_id).registered_home_id is None


def test_a_token_for_another_grid_sees_no_tasks_of_this_one(phone, app_url, protector):
    city.places()
    city.home_with_task(protector)
    _sign_in(phone, app_url, issue_token("worker-8", ["grid_worker"], ["D-09-S1-C1-G9"]))
    expect(phone.locator("#tasks-status")).to_contain_text("No open tasks")
    assert phone.locator("#tasks li").count() == 0


def test_a_broken_token_is_refused_on_the_page(phone, app_url):
    _sign_in(phone, app_url, "not-a-token")
    expect(phone.locator("#sign-in-error")).to_contain_text("Not a usable token")
    assert phone.locator("#tasks-view").is_hidden()
