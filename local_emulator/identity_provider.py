"""The city identity provider, played on loopback: OpenID Connect authorization code with PKCE.

The pages sign people in through the city's IdP; locally (demo, page tests) this server plays
it with a directory of synthetic staff (staff number + password, their roles and grids):

- ``GET  /.well-known/openid-configuration``, ``GET /jwks``  discovery and the public key
- ``GET  /authorize``  the login form (checks client id, loopback redirect URI, S256 challenge)
- ``POST /authorize``  staff number + password; a one-time code (60 s) back to the redirect URI
- ``POST /token``      code + PKCE verifier (+ the same redirect URI and client id) -> id token

Codes are single-use (a replay is ``invalid_grant``), bound to the challenge, the client and
the redirect URI. Id tokens are EdDSA-signed with a key made at start (``kid`` in the JWKS) and
carry ``sub``, ``name``, ``nonce``, ``roles`` (the IdP's role names) and ``grids``. Times come
from `gridgate.clock`. `tamper_next_id_token` lets a test make the next answer hostile (another
signing key, another audience …) to show the app refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gridgate import clock, i18n

CLIENT_ID = "gridgate-pages"
_CODE_SECONDS, _ID_TOKEN_SECONDS = 60, 300
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class StaffAccount:
    """A person in the emulated directory: what they type, who they are, what the IdP says."""

    staff_number: str
    password: str
    name: str
    roles: tuple[str, ...]  # the IdP's role names: "grid-worker", "data-center-staff"
    grids: tuple[str, ...] = ()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _loopback_callback(uri: str) -> bool:
    """RFC 8252 §7.3: a native/local client's loopback redirect may use any port; path fixed."""
    parts = urllib.parse.urlsplit(uri)
    return (
        parts.scheme == "http"
        and parts.hostname in _LOOPBACK_HOSTS
        and parts.path == "/auth/callback"
        and not parts.query
        and not parts.fragment
    )


class EmulatedIdentityProvider:
    def __init__(
        self, accounts: Iterable[StaffAccount], client_id: str = CLIENT_ID, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.accounts = {account.staff_number: account for account in accounts}
        self.client_id = client_id
        self._key = Ed25519PrivateKey.generate()
        self.key_id = secrets.token_hex(8)
        self._codes: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._tamper: Callable[[dict], tuple[dict, Ed25519PrivateKey, str]] | None = None
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self.issuer = f"http://{host}:{self._server.server_address[1]}"

    # --- what a test may do to the next answer -------------------------------------------------
    def tamper_next_id_token(self, change: Callable[[dict], tuple[dict, Ed25519PrivateKey, str]]) -> None:
        """The next id token is `change(claims)` -> (claims, signing key, kid): a hostile answer."""
        self._tamper = change

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        return self._key

    # --- serving ---------------------------------------------------------------------------------
    @contextmanager
    def running(self) -> Iterator[EmulatedIdentityProvider]:
        thread = threading.Thread(target=self._server.serve_forever, name="emulated-idp", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=5)

    def _jwks(self) -> dict:
        public = self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {
            "keys": [
                {"kty": "OKP", "crv": "Ed25519", "x": _b64url(public), "kid": self.key_id, "alg": "EdDSA", "use": "sig"}
            ]
        }

    def _discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["EdDSA"],
            "subject_types_supported": ["public"],
            "token_endpoint_auth_methods_supported": ["none"],
        }

    def _authorization_problem(self, params: dict[str, str]) -> str | None:
        if params.get("client_id") != self.client_id:
            return "unknown client_id"
        if not _loopback_callback(params.get("redirect_uri", "")):
            return "redirect_uri is not registered for this client"
        if params.get("response_type") != "code":
            return "response_type must be code"
        if params.get("code_challenge_method") != "S256" or len(params.get("code_challenge", "")) != 43:
            return "PKCE with S256 is required"
        if not params.get("state") or not params.get("nonce"):
            return "state and nonce are required"
        return None

    def _login_form(self, params: dict[str, str], wrong: bool) -> str:
        t = i18n.translator(params.get("ui_locales"))
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k not in ("staff_number", "password")
        )
        error = (
            f'<p id="login-error" role="alert" style="color:#c53030">{html.escape(t("idp.wrong_password"))}</p>'
            if wrong
            else ""
        )
        return (
            f'<!doctype html><html lang="{t.html_lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(t("idp.title"))}</title></head>'
            f'<body style="font: 16px/1.5 {html.escape(i18n.FONT_STACK)}; max-width: 420px; margin: 24px auto; padding: 0 16px">'
            f'<main><h1 style="font-size:20px">{html.escape(t("idp.title"))}</h1>'
            f"<p>{html.escape(t('idp.for_client'))}</p>{error}"
            f'<form method="post" action="/authorize">{hidden}'
            f'<p><label for="staff_number">{html.escape(t("idp.staff_number"))}</label><br>'
            f'<input id="staff_number" name="staff_number" autocomplete="username" required style="width:100%;padding:8px;font:inherit"></p>'
            f'<p><label for="password">{html.escape(t("idp.password"))}</label><br>'
            f'<input id="password" name="password" type="password" autocomplete="current-password" required style="width:100%;padding:8px;font:inherit"></p>'
            f'<p><button id="login" type="submit" style="width:100%;padding:10px;font:inherit;background:#2b6cb0;color:#fff;border:0;border-radius:6px">'
            f"{html.escape(t('idp.submit'))}</button></p></form></main></body></html>"
        )

    def _issue_code(self, params: dict[str, str], account: StaffAccount) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = {
                "client_id": params["client_id"],
                "redirect_uri": params["redirect_uri"],
                "challenge": params["code_challenge"],
                "nonce": params["nonce"],
                "account": account,
                "expires": clock.now() + timedelta(seconds=_CODE_SECONDS),
            }
        return code

    def _token(self, form: dict[str, str]) -> tuple[int, dict]:
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # single use, whatever happens next
        if grant is None or grant["expires"] <= clock.now():
            return 400, {"error": "invalid_grant", "error_description": "unknown, used or expired code"}
        if form.get("client_id") != grant["client_id"] or form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "code was issued to another client or redirect"}
        verifier = form.get("code_verifier", "")
        if _b64url(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier does not match"}
        account: StaffAccount = grant["account"]
        issued = clock.now()
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": account.staff_number,
            "name": account.name,
            "nonce": grant["nonce"],
            "iat": int(issued.timestamp()),
            "exp": int((issued + timedelta(seconds=_ID_TOKEN_SECONDS)).timestamp()),
            "roles": list(account.roles),
            "grids": list(account.grids),
        }
        key, kid = self._key, self.key_id
        if self._tamper is not None:
            change, self._tamper = self._tamper, None
            claims, key, kid = change(claims)
        token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})
        return 200, {"id_token": token, "token_type": "Bearer", "expires_in": _ID_TOKEN_SECONDS}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # the tests' output stays readable
                pass

            def _send(self, status: int, body: str, content_type: str, headers: dict | None = None) -> None:
                raw = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Cache-Control", "no-store")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def _json(self, status: int, doc: dict) -> None:
                self._send(status, json.dumps(doc), "application/json")

            def _form(self) -> dict[str, str]:
                length = min(int(self.headers.get("Content-Length") or 0), 16 * 1024)
                pairs = urllib.parse.parse_qsl(self.rfile.read(length).decode(errors="replace"))
                return {k: v for k, v in pairs}

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    return self._json(200, idp._discovery())
                if url.path == "/jwks":
                    return self._json(200, idp._jwks())
                if url.path == "/authorize":
                    problem = idp._authorization_problem(params)
                    if problem:  # never redirect to an unchecked address: say it here
                        return self._send(400, html.escape(problem), "text/plain; charset=utf-8")
                    return self._send(200, idp._login_form(params, wrong=False), "text/html; charset=utf-8")
                self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                path, form = urllib.parse.urlsplit(self.path).path, self._form()
                if path == "/token":
                    return self._json(*idp._token(form))
                if path != "/authorize":
                    return self._json(404, {"error": "not_found"})
                problem = idp._authorization_problem(form)
                if problem:
                    return self._send(400, html.escape(problem), "text/plain; charset=utf-8")
                account = idp.accounts.get(form.get("staff_number", ""))
                if account is None or not secrets.compare_digest(
                    account.password.encode(), form.get("password", "").encode()
                ):
                    return self._send(401, idp._login_form(form, wrong=True), "text/html; charset=utf-8")
                query = urllib.parse.urlencode({"code": idp._issue_code(form, account), "state": form["state"]})
                self._send(302, "", "text/plain", {"Location": f"{form['redirect_uri']}?{query}"})

        return Handler
