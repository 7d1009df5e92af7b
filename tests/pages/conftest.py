"""Fixtures for the page tests: the app served over HTTP against moto's server, and Debian's
headless Chromium driven by Playwright (its own browser download is never used)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: Where the data-center page links the Prefect runs (nothing listens there in the tests).
PREFECT_UI = "http://127.0.0.1:4200"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


@pytest.fixture(scope="session")
def app_url(moto_server):
    """The Chalice app on loopback (Chalice's local gateway in a child process)."""
    from local_emulator.app_server import running_app_server
    from local_emulator.server import free_port

    env = {**os.environ, "GRIDGATE_PREFECT_UI_URL": PREFECT_UI}
    with running_app_server(free_port(), env) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it: apt-get install chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser):
    """A phone-sized page (the grid workers' pages are used on phones)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()
