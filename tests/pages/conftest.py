"""Fixtures for the page tests: the app served over HTTP against moto's server, and Debian's
headless Chromium driven by Playwright (its own browser download is never used)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: Where the data-center page links the Prefect runs (nothing listens there in the tests).
PREFECT_UI = "http://127.0.0.1:4200"
#: The users' browsers are Chinese. The date input's format follows the browser's own language,
#: which a context's locale does not change: Chromium takes it from --lang on Windows and from
#: LANGUAGE on Linux, and draws it only where its Chinese resources are installed (Debian's
#: chromium-l10n; without them, 11/20/2026, which is why the page writes the day out beside it).
CHROMIUM_ENV = {**os.environ, "LANGUAGE": "zh_CN:zh", "LANG": "zh_CN.UTF-8"}
CHROMIUM_ARGS = [
    "--headless",
    "--lang=zh-CN",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


#: The emulated city IdP's directory in the page tests: (staff number, password, name, roles, grids).
STAFF = {
    "worker-7": ("gw-7-secret", "张伟", ("grid-worker",), ("D-01-S1-C1-G1",)),
    "worker-8": ("gw-8-secret", "刘洋", ("grid-worker",), ("D-09-S1-C1-G9",)),
    "staff-1": ("dc-1-secret", "陈静", ("data-center-staff",), ()),
    "ph-1": ("ph-1-secret", "王芳", ("public-health-officer",), ()),
    "co-1": ("co-1-secret", "孙立", ("correction-officer",), ("D-01-S1-C1-G1",)),
    "resident-1": ("res-1-secret", "赵敏", ("resident",), ()),
}


@pytest.fixture(scope="session")
def identity_provider():
    """The city identity provider, played on loopback by the emulator (OIDC code + PKCE)."""
    from local_emulator.identity_provider import EmulatedIdentityProvider, StaffAccount

    accounts = [
        StaffAccount(number, password, name, roles, grids) for number, (password, name, roles, grids) in STAFF.items()
    ]
    with EmulatedIdentityProvider(accounts).running() as idp:
        yield idp


@pytest.fixture(scope="session")
def _app_clock_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("app-clock") / "offset-seconds"


@pytest.fixture(scope="session")
def app_url(moto_server, identity_provider, _app_clock_file):
    """The Chalice app on loopback (Chalice's local gateway in a child process), signing people
    in through the emulated IdP; its clock can be moved with `app_clock`."""
    from local_emulator.app_server import CLOCK_OFFSET_FILE, running_app_server
    from local_emulator.server import free_port

    env = {
        **os.environ,
        "GRIDGATE_PREFECT_UI_URL": PREFECT_UI,
        "GRIDGATE_OIDC_ISSUER": identity_provider.issuer,
        CLOCK_OFFSET_FILE: str(_app_clock_file),
    }
    with running_app_server(free_port(), env) as url:
        yield url


class AppClock:
    """Moves the served app's clock (seconds added to the real time), back to zero after the test."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0.0

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        self.path.write_text(str(self.offset))


@pytest.fixture
def app_clock(_app_clock_file):
    moved = AppClock(_app_clock_file)
    yield moved
    _app_clock_file.write_text("0")


def sign_in(
    page, app_url: str, staff_number: str, page_name: str = "grid-worker", password: str | None = None, lang: str = ""
) -> None:
    """Open the page and sign in as a person would: the link, the IdP's form, back to the page."""
    page.goto(f"{app_url}/pages/{page_name}{'?lang=' + lang if lang else ''}")
    page.click("#sign-in-link")
    page.wait_for_selector("#staff_number")
    page.fill("#staff_number", staff_number)
    page.fill("#password", password if password is not None else STAFF[staff_number][0])
    page.click("#login")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed (make test installs it: apt-get install chromium chromium-driver)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env=CHROMIUM_ENV)
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser):
    """A phone-sized page (the grid workers' pages are used on phones), a Chinese browser in Nanjing."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop(browser):
    # A Chinese browser set to another zone: times on the pages must stay Beijing time.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN", timezone_id="Europe/Berlin")
    page = context.new_page()
    yield page
    context.close()


#: Where the page tests leave their screenshots (git-ignored with build/): look at them.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"

#: A code point no font has (Supplementary Private Use Area-B): what a missing glyph looks like.
_NO_GLYPH = "\U0010fffd"

_GLYPH_PROBE = """([selector, probe]) => {
  // Draws each non-ASCII character of the matched elements in the element's own computed font
  // and compares the pixels with the same font's rendering of a code point no font covers:
  // identical pixels mean the character fell through every font of the stack (a "tofu" box).
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 64;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const draw = (font, ch) => {
    ctx.clearRect(0, 0, 64, 64); ctx.font = font; ctx.textBaseline = "top"; ctx.fillStyle = "#000";
    ctx.fillText(ch, 4, 4);
    return Array.from(ctx.getImageData(0, 0, 64, 64).data).join(",");
  };
  const missing = [];
  let checked = 0;
  for (const node of document.querySelectorAll(selector)) {
    const style = getComputedStyle(node);
    const font = `${style.fontWeight} 32px ${style.fontFamily}`;
    const tofu = draw(font, probe);
    for (const ch of new Set(node.textContent)) {
      if (ch.codePointAt(0) < 0x2E80) continue;  // Latin, digits, punctuation: not the concern here
      checked += 1;
      if (draw(font, ch) === tofu) missing.push(ch);
    }
  }
  return { checked, missing: [...new Set(missing)] };
}"""


def unrendered_glyphs(page, selector: str) -> tuple[int, list[str]]:
    """(how many CJK characters were checked, which of them render as the missing-glyph box)."""
    result = page.evaluate(_GLYPH_PROBE, [selector, _NO_GLYPH])
    return result["checked"], result["missing"]


def assert_glyphs_render(page, selector: str = "body *") -> None:
    """Fails when a Chinese character on the page is drawn as a box (no font of the stack has it)."""
    checked, missing = unrendered_glyphs(page, selector)
    assert checked, f"no CJK text under {selector!r} to check"
    assert not missing, f"characters rendered as boxes (no CJK font?): {''.join(missing)}"


def screenshot(page, name: str) -> Path:
    """A full-page screenshot named after the page and the viewport width (390 = phone)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{page.viewport_size['width']}px.png"
    page.screenshot(path=str(path), full_page=True)
    return path


#: axe-core, from npm (``npm ci``; make test runs it).
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands (the page's context
    must bypass CSP for axe to be injected)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make test does)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
