"""People sign in through the city identity provider (the emulator's, on loopback): OIDC
authorization code with PKCE, a working-day session that refreshes, sign-out; in Chromium, and
the hostile inputs over plain HTTP against the same running app and IdP."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import expect

from . import city
from .conftest import STAFF, screenshot, sign_in

pytestmark = pytest.mark.usefixtures("clean_tables")


def _http(method: str, url: str, form: dict | None = None, headers: dict | None = None):
    """(status, headers, body) without following redirects (the hostile tests look at each hop)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    body = urllib.parse.urlencode(form) if form is not None else None
    sent = {**({"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}), **(headers or {})}
    connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=sent)
    response = connection.getresponse()
    answer = (response.status, response.getheaders(), response.read().decode(errors="replace"))
    connection.close()
    return answer


def _header(headers, name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name.lower()]


def _cookie_value(headers, name: str) -> str:
    for value in _header(headers, "Set-Cookie"):
        if value.startswith(name + "="):
            return value.split(";")[0].split("=", 1)[1]
    return ""


def _started_login(app_url: str, page: str = "grid-worker") -> tuple[dict, str]:
    """GET /auth/login as a browser would: (the IdP authorize parameters, the login cookie)."""
    status, headers, _ = _http("GET", f"{app_url}/auth/login?page={page}")
    assert status == 302
    location = _header(headers, "Location")[0]
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query)), _cookie_value(headers, "gridgate_login")


def _code_for(identity_provider, params: dict, staff_number: str = "worker-7") -> str:
    status, headers, _ = _http(
        "POST",
        f"{identity_provider.issuer}/authorize",
        {**params, "staff_number": staff_number, "password": STAFF[staff_number][0]},
    )
    assert status == 302
    back = urllib.parse.urlsplit(_header(headers, "Location")[0])
    return dict(urllib.parse.parse_qsl(back.query))["code"]


def _callback(app_url: str, code: str, state: str, login_cookie: str):
    query = urllib.parse.urlencode({"code": code, "state": state})
    return _http("GET", f"{app_url}/auth/callback?{query}", headers={"Cookie": f"gridgate_login={login_cookie}"})


def _signed_in_over_http(app_url: str, identity_provider, staff_number: str = "worker-7") -> str:
    """A whole sign-in without a browser; returns the refresh cookie's value."""
    params, login_cookie = _started_login(app_url)
    status, headers, _ = _callback(
        app_url, _code_for(identity_provider, params, staff_number), params["state"], login_cookie
    )
    assert status == 302, headers
    return _cookie_value(headers, "gridgate_refresh")


def _refresh(app_url: str, refresh_cookie: str, page_header: bool = True):
    headers = {"Cookie": f"gridgate_refresh={refresh_cookie}", **({"X-Gridgate-Page": "1"} if page_header else {})}
    status, answer_headers, body = _http("POST", f"{app_url}/auth/refresh", headers=headers)
    return status, json.loads(body), _cookie_value(answer_headers, "gridgate_refresh")


def _code_of(body: dict) -> str:
    return (body.get("error") or body).get("code")


def _tasks(app_url: str, access_token: str):
    status, _, body = _http(
        "GET", f"{app_url}/grid/{city.GRID}/tasks", headers={"Authorization": f"Bearer {access_token}"}
    )
    return status, json.loads(body)


# --- in the browser ----------------------------------------------------------------------------


def test_a_worker_signs_in_at_the_idp_and_lands_on_their_tasks(phone, app_url, protector):
    city.places()
    city.home_with_task(protector)
    phone.goto(f"{app_url}/pages/grid-worker")
    screenshot(phone, "grid-worker-sign-in")
    phone.click("#sign-in-link")
    expect(phone.locator("h1")).to_have_text("南京市统一身份认证（模拟）")
    screenshot(phone, "idp-login")
    phone.fill("#staff_number", "worker-7")
    phone.fill("#password", STAFF["worker-7"][0])
    phone.click("#login")

    expect(phone.locator("#tasks-status")).to_have_text("1 项待办任务")
    expect(phone.locator("#signed-in-as")).to_have_text("张伟（工号 worker-7）")
    assert (
        "code=" not in phone.url and "state=" not in phone.url and phone.url.startswith(f"{app_url}/pages/grid-worker")
    )
    refresh = [c for c in phone.context.cookies() if c["name"] == "gridgate_refresh"]
    assert len(refresh) == 1 and refresh[0]["httpOnly"] and refresh[0]["secure"] and refresh[0]["sameSite"] == "Strict"
    assert refresh[0]["path"] == "/auth"
    assert "gridgate_refresh" not in phone.evaluate("document.cookie")  # no script can read it
    # a working day: the cookie lives about 10 hours
    assert 9.9 * 3600 < refresh[0]["expires"] - phone.evaluate("Date.now() / 1000") <= 10 * 3600 + 5

    phone.reload()  # the session outlives the page
    expect(phone.locator("#tasks li")).to_have_count(1)


def test_the_idp_refuses_a_wrong_password_in_any_script(identity_provider, app_url):
    params, _ = _started_login(app_url)
    status, _, page = _http(
        "POST", f"{identity_provider.issuer}/authorize", {**params, "staff_number": "worker-7", "password": "密码错误"}
    )
    assert status == 401 and "工号或密码不正确" in page


def test_a_wrong_password_is_refused_at_the_idp(phone, app_url):
    sign_in(phone, app_url, "worker-7", password="not-the-password")
    expect(phone.locator("#login-error")).to_have_text("工号或密码不正确，请重新输入。")
    assert phone.url.startswith(phone.url.split("/authorize")[0]) and "/authorize" in phone.url
    assert not [c for c in phone.context.cookies() if c["name"] == "gridgate_refresh"]


def test_the_session_survives_an_access_token_expiry_by_refreshing(phone, app_url, protector, app_clock):
    city.places()
    city.home_with_task(protector)
    sign_in(phone, app_url, "worker-7")
    expect(phone.locator("#tasks li")).to_have_count(1)
    calls = []
    phone.on("response", lambda r: calls.append((r.url.split("?")[0].removeprefix(app_url), r.status)))

    app_clock.advance(11 * 60)  # past the 10-minute access token, inside the working day
    phone.locator("#tasks li").first.click()  # the roster call: 401 token_expired, refresh, again
    expect(phone.locator("#roster .person")).to_have_count(2)
    roster = f"/grid/{city.GRID}/homes/H-0001-0501/roster"
    assert [c for c in calls if c[0] in (roster, "/auth/refresh")] == [
        (roster, 401),
        ("/auth/refresh", 200),
        (roster, 200),
    ]

    app_clock.advance(10 * 3600)  # the working day is over: the next load asks to sign in again
    phone.reload()
    expect(phone.locator("#sign-in")).to_be_visible()
    assert phone.locator("#tasks-view").is_hidden()


def test_sign_out_ends_the_session_at_once(desktop, app_url, protector):
    city.places()
    city.home_with_task(protector)
    tokens = []
    desktop.on("request", lambda r: tokens.append(r.headers.get("authorization", "")))
    sign_in(desktop, app_url, "worker-7")
    expect(desktop.locator("#tasks li")).to_have_count(1)
    access = next(t for t in tokens if t.startswith("Bearer gsa.")).removeprefix("Bearer ")
    assert _tasks(app_url, access)[0] == 200

    desktop.click("#sign-out")
    expect(desktop.locator("#sign-in-error")).to_have_text("已退出登录。")
    status, body = _tasks(app_url, access)  # the access token had minutes left: refused anyway
    assert (status, _code_of(body)) == (401, "session_ended")
    assert not [c for c in desktop.context.cookies() if c["name"] == "gridgate_refresh"]
    desktop.reload()
    expect(desktop.locator("#sign-in")).to_be_visible()


def test_staff_sign_in_to_the_data_center_page(desktop, app_url):
    city.places()
    city.statistics_and_findings()
    sign_in(desktop, app_url, "staff-1", "data-center")
    expect(desktop.locator(f"#places tr[data-place-id='{city.DISTRICT}']")).to_have_count(1)
    expect(desktop.locator("#signed-in-as")).to_have_text("陈静（工号 staff-1）")


# --- hostile inputs (over HTTP, against the same running app and IdP) ----------------------------


def test_a_changed_or_missing_state_is_refused(app_url, identity_provider):
    params, login_cookie = _started_login(app_url)
    code = _code_for(identity_provider, params)
    status, _, page = _callback(app_url, code, params["state"] + "x", login_cookie)
    assert status == 400 and "bad_state" in page and "重新登录" in page
    status, _, page = _callback(app_url, code, params["state"], "")  # not this browser's login
    assert status == 400 and "bad_state" in page
    assert _callback(app_url, "", params["state"], login_cookie)[0] == 400


@pytest.mark.parametrize("state", ["x" * 5000, "状态" * 20, "a" * 42, "../../etc", "a" * 42 + "\u0000"])
def test_a_hostile_state_is_refused_before_any_lookup(app_url, state):
    """The attacker sets both the cookie and the query: still a 4xx, never a storage error."""
    cookie = urllib.parse.quote(state)
    status, _, page = _callback(app_url, "code", state, cookie)
    assert status == 400 and "bad_state" in page


def test_a_replayed_code_is_refused(app_url, identity_provider):
    params, login_cookie = _started_login(app_url)
    code = _code_for(identity_provider, params)
    assert _callback(app_url, code, params["state"], login_cookie)[0] == 302
    status, _, page = _callback(app_url, code, params["state"], login_cookie)  # the same answer again
    assert status == 400 and "bad_state" in page
    # the same code under a fresh login of the attacker's: the IdP has spent it
    fresh, fresh_cookie = _started_login(app_url)
    status, _, page = _callback(app_url, code, fresh["state"], fresh_cookie)
    assert status == 400 and "idp_refused" in page


def test_a_code_taken_from_another_login_fails_its_pkce_verifier(app_url, identity_provider):
    """Code injection: the victim's code under the attacker's own login (another verifier)."""
    victim, _ = _started_login(app_url)
    stolen = _code_for(identity_provider, victim)
    attacker, attacker_cookie = _started_login(app_url)
    status, _, page = _callback(app_url, stolen, attacker["state"], attacker_cookie)
    assert status == 400 and "idp_refused" in page
    # and the IdP's own check, with the verifier wrong by one character
    params, _ = _started_login(app_url)
    code = _code_for(identity_provider, params)
    status, _, body = _http(
        "POST",
        f"{identity_provider.issuer}/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": params["redirect_uri"],
            "client_id": params["client_id"],
            "code_verifier": "A" * 43,
        },
    )
    assert status == 400 and json.loads(body)["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "forgery",
    ["other_key", "other_audience", "other_issuer", "other_nonce", "expired", "roles_not_text", "nonce_not_ascii"],
)
def test_a_forged_id_token_is_refused(app_url, identity_provider, forgery):
    key = identity_provider.signing_key
    changes = {
        "other_key": lambda c: (c, Ed25519PrivateKey.generate(), identity_provider.key_id),
        "other_audience": lambda c: ({**c, "aud": "someone-else"}, key, identity_provider.key_id),
        "other_issuer": lambda c: ({**c, "iss": "https://idp.example"}, key, identity_provider.key_id),
        "other_nonce": lambda c: ({**c, "nonce": "n" * 43}, key, identity_provider.key_id),
        "expired": lambda c: ({**c, "exp": c["iat"] - 3600, "iat": c["iat"] - 7200}, key, identity_provider.key_id),
        "roles_not_text": lambda c: ({**c, "roles": [{"grid-worker": True}]}, key, identity_provider.key_id),
        "nonce_not_ascii": lambda c: ({**c, "nonce": "随机数" * 10}, key, identity_provider.key_id),
    }
    identity_provider.tamper_next_id_token(changes[forgery])
    params, login_cookie = _started_login(app_url)
    status, headers, page = _callback(app_url, _code_for(identity_provider, params), params["state"], login_cookie)
    assert status == 400 and "bad_id_token" in page
    assert not _cookie_value(headers, "gridgate_refresh")


def test_a_resident_account_gets_no_page_session(app_url, identity_provider):
    params, login_cookie = _started_login(app_url)
    status, _, page = _callback(
        app_url, _code_for(identity_provider, params, "resident-1"), params["state"], login_cookie
    )
    assert status == 403 and "no_page_role" in page


def test_the_idp_never_redirects_to_an_unregistered_address(identity_provider, app_url):
    params, _ = _started_login(app_url)
    for bad in (
        {"redirect_uri": "https://evil.example/auth/callback"},
        {"code_challenge_method": "plain"},
        {"client_id": "other"},
    ):
        query = urllib.parse.urlencode({**params, **bad})
        status, headers, _ = _http("GET", f"{identity_provider.issuer}/authorize?{query}")
        assert status == 400 and not _header(headers, "Location")


def test_refresh_rotates_and_a_reused_refresh_secret_ends_the_session(app_url, identity_provider):
    first = _signed_in_over_http(app_url, identity_provider)
    status, body, second = _refresh(app_url, first)
    assert status == 200 and second and second != first and body["grids"] == [city.GRID]
    assert _tasks(app_url, body["access_token"])[0] == 200
    status, refused, _ = _refresh(app_url, first)  # the old secret again: someone kept a copy
    assert (status, _code_of(refused)) == (401, "session_replayed")
    assert _code_of(_tasks(app_url, body["access_token"])[1]) == "session_ended"
    assert _refresh(app_url, second)[0] == 401  # the whole session is over


def test_refresh_needs_the_page_header_and_a_real_session(app_url, identity_provider):
    cookie = _signed_in_over_http(app_url, identity_provider)
    status, body, _ = _refresh(app_url, cookie, page_header=False)
    assert (status, _code_of(body)) == (403, "not_from_page")
    for hostile in ("", "gsr.", "gsr.nope.nope", "gsa.x.y", "x" * 5000, "gsr." + "a" * 300):
        status, body, _ = _refresh(app_url, hostile)
        assert status == 401 and _code_of(body) in ("not_signed_in", "bad_session", "session_ended"), (hostile, body)
    for token in ("gsa.nope.nope", "gsa." + "a" * 300, "gsa.."):
        status, body = _tasks(app_url, token)
        assert status == 401 and _code_of(body) in ("bad_token", "session_ended"), (token, body)


def test_the_login_refuses_an_unknown_page(app_url):
    status, headers, page = _http("GET", f"{app_url}/auth/login?page=https://evil.example")
    assert status == 400 and not _header(headers, "Location") and "bad_page" in page


def test_an_expired_login_is_refused(app_url, identity_provider, app_clock):
    params, login_cookie = _started_login(app_url)
    code = _code_for(identity_provider, params)
    app_clock.advance(timedelta(minutes=11).total_seconds())
    status, _, page = _callback(app_url, code, params["state"], login_cookie)
    assert status == 400 and "bad_state" in page
