"""People's sign-in for the pages (mounted at /auth), through the city identity provider.

- ``GET  /auth/login?page=grid-worker|data-center&lang=``  to the IdP's login (OIDC code + PKCE)
- ``GET  /auth/callback?code=&state=``  the IdP's answer: a session starts, back to the page
- ``POST /auth/refresh``   a fresh access token for the page (rotates the refresh cookie)
- ``POST /auth/sign-out``  ends the session

The flow itself is `gridgate.sign_in.people_sign_in`. This module holds what is HTTP: the two
cookies, both HttpOnly and Secure (browsers keep Secure cookies on loopback too): the login's
state (``SameSite=Lax``, the IdP's redirect back is a cross-site navigation; path of the callback
only) and the refresh secret (``SameSite=Strict``, path ``/auth``: no page script and no other
site ever sends or reads it). The POSTs also need the ``X-Gridgate-Page`` header, which a
cross-site form cannot send and a cross-site script cannot send without a CORS preflight we
never answer. A refused callback is a page in the person's language with a way to start again.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

from chalice import Blueprint, Response

from chalicelib.api_schemas import PageSessionAnswer, SignedOutAnswer
from chalicelib.blueprints.pages import render_message_page
from chalicelib.errors import ApiError
from chalicelib.logs import logger
from chalicelib.openapi import LANG, Param, documented
from chalicelib.refusal_statuses import status_of
from chalicelib.request_context import current_request, query_params, request_id, request_locale
from gridgate import clock, i18n
from gridgate.config import get_settings
from gridgate.refusals import NotAllowed
from gridgate.security.oidc import SignInRefused
from gridgate.sign_in.people_sign_in import PAGES, PageSession, people_sign_in

bp = Blueprint(__name__)

LOGIN_COOKIE, REFRESH_COOKIE = "gridgate_login", "gridgate_refresh"
PAGE_HEADER = "x-gridgate-page"
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _cookie(name: str, value: str, path: str, same_site: str, max_age: int) -> str:
    return f"{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; Secure; SameSite={same_site}"


def _refresh_cookie(session: PageSession) -> str:
    """The refresh secret, kept by the browser until the session's working day is over."""
    max_age = max(0, int((session.session_expires_at - clock.now()).total_seconds()))
    return _cookie(REFRESH_COOKIE, session.refresh_token, "/auth", "Strict", max_age)


def _cookies() -> dict[str, str]:
    header = {key.lower(): value for key, value in (current_request().headers or {}).items()}.get("cookie", "")
    found: dict[str, str] = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        found.setdefault(name, value)
    return found


def _params() -> Mapping[str, str]:
    return query_params(current_request())


def _locale() -> str:
    return request_locale(current_request())


def _redirect_uri() -> str:
    """Where the IdP sends the browser back: configured, or this host's callback (local runs)."""
    configured = get_settings().oidc_redirect_uri
    if configured:
        return configured
    headers = {key.lower(): value for key, value in (current_request().headers or {}).items()}
    scheme = headers.get("x-forwarded-proto", "http").split(",")[0].strip()
    return f"{scheme}://{headers.get('host', '127.0.0.1')}/auth/callback"


def _page_url(page: str, locale: str) -> str:
    return f"/pages/{page}?" + urllib.parse.urlencode({"lang": i18n.HTML_LANG[locale]})


def _refused(err: SignInRefused, locale: str, page: str = PAGES[0]) -> Response:
    t = i18n.translator(locale)
    return render_message_page(
        status_of(err),
        locale,
        t("page.sign_in.refused_title"),
        i18n.refusal_text(err, locale),
        "/auth/login?" + urllib.parse.urlencode({"page": page, "lang": i18n.HTML_LANG[locale]}),
        t("page.sign_in.again"),
        err.code,
    )


@bp.route("/login", methods=["GET"])
@documented(
    responses={302: (), 400: "text/html", 401: "text/html", 403: "text/html", 404: "text/html", 503: "text/html"},
    errors=(400, 401, 403, 404, 503),
    params=(Param("page", "query", {"type": "string", "enum": list(PAGES)}, "the page to open once signed in"), LANG),
)
def login():
    """Start a sign-in: to the city IdP's login (``?page=grid-worker|data-center``).

    Records the login (state, nonce, PKCE verifier) and sets the login cookie; 302 to the IdP."""
    locale, page = _locale(), _params().get("page", PAGES[0])
    try:
        url, state = people_sign_in().begin(page, _redirect_uri(), locale)
    except SignInRefused as err:
        return _refused(err, locale)
    return Response(
        body="",
        status_code=302,
        headers={
            "Location": url,
            **_NO_STORE,
            "Set-Cookie": _cookie(LOGIN_COOKIE, state, "/auth/callback", "Lax", 600),
        },
    )


@bp.route("/callback", methods=["GET"])
@documented(
    responses={302: (), 400: "text/html", 401: "text/html", 403: "text/html", 404: "text/html", 503: "text/html"},
    errors=(400, 401, 403, 404, 503),
    params=(
        Param("code", "query", {"type": "string"}, "the IdP's authorization code"),
        Param("state", "query", {"type": "string"}, "the state this sign-in began with"),
        Param("error", "query", {"type": "string"}, "the IdP's refusal, if any"),
    ),
)
def callback():
    """The IdP's answer (``code``, ``state``): verify it, start a working-day session, back to the page.

    A refused answer (state, code, verifier, id token) is a 4xx page in the person's language."""
    params, locale = _params(), _locale()
    if params.get("error"):
        return _refused(SignInRefused("idp_refused", idp_error=str(params["error"])[:200]), locale)
    try:
        session, page, locale = people_sign_in().complete(
            params.get("state", ""),
            _cookies().get(LOGIN_COOKIE, ""),
            params.get("code", ""),
            request_id(current_request()),
        )
    except SignInRefused as err:
        logger.warning("sign-in refused", extra={"code": err.code, "status": status_of(err)})
        return _refused(err, locale)
    return Response(
        body="",
        status_code=302,
        headers={
            "Location": _page_url(page, locale),
            **_NO_STORE,
            "Set-Cookie": [_refresh_cookie(session), _cookie(LOGIN_COOKIE, "", "/auth/callback", "Lax", 0)],
        },
    )


def _from_page() -> str:
    request = current_request()
    headers = {key.lower(): value for key, value in (request.headers or {}).items()}
    if headers.get(PAGE_HEADER) != "1":
        raise NotAllowed("not_from_page", header=PAGE_HEADER)
    return _cookies().get(REFRESH_COOKIE, "")


@bp.route("/refresh", methods=["POST"])
@documented(responses={200: PageSessionAnswer}, errors=(401, 403, 404, 503))
def refresh():
    """A fresh access token for the signed-in page; the refresh cookie rotates.

    Needs the ``X-Gridgate-Page: 1`` header and the refresh cookie; 401 once the session is over."""
    token = _from_page()
    if not token:
        raise SignInRefused("not_signed_in")
    try:
        session = people_sign_in().refresh(token, request_id(current_request()))
    except SignInRefused as err:
        # the session is over: the browser forgets its refresh cookie too
        forget = _cookie(REFRESH_COOKIE, "", "/auth", "Strict", 0)
        raise ApiError.refused(err, headers={**_NO_STORE, "Set-Cookie": forget}) from None
    return Response(
        body=session.public(), status_code=200, headers={**_NO_STORE, "Set-Cookie": _refresh_cookie(session)}
    )


@bp.route("/sign-out", methods=["POST"])
@documented(responses={200: SignedOutAnswer}, errors=(401, 403, 404, 503))
def sign_out():
    """End the session of this browser: its access token is refused from now on."""
    token = _from_page()
    if token:
        people_sign_in().sign_out(token, request_id(current_request()))
    return Response(
        body={"signed_out": True},
        status_code=200,
        headers={**_NO_STORE, "Set-Cookie": _cookie(REFRESH_COOKIE, "", "/auth", "Strict", 0)},
    )
