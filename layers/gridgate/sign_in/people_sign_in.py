"""People sign in to the pages through the city identity provider, and keep a working-day session.

1. `begin`: a login is recorded under a random ``state`` with its ``nonce`` and PKCE verifier (the
   verifier never leaves the server), and the browser is sent to the IdP's login.
2. `complete`: the IdP sends the browser back with a code and the state. The state must match the
   one this browser started with (a cookie) and a login not yet taken; the code is exchanged with
   the verifier; the id token is verified (`gridgate.security.oidc`); the IdP's roles become the
   project's token roles (`ROLE_OF_IDP_ROLE`, grids from the ``grids`` claim) and a session starts.
3. A session is two opaque secrets, stored only as hashes: an access token (minutes, sent as
   ``Authorization: Bearer gsa.…`` like any app token) and a refresh secret (an HttpOnly cookie)
   that `refresh` swaps for a new pair, rotating, until the working day is over. A refresh secret
   used twice ends the session (a copy was taken). `sign_out` ends it at once: the next request
   with its access token is refused.

Signing in, refreshing, a refused replay and signing out are audit records like any other read or
write (actor: the person; subject ``account#<subject>``, so "when was worker W signed in" is one
query; detail: the session's id and roles, never a secret or a token).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from gridgate import clock
from gridgate.adapters.audit import AuditLog
from gridgate.adapters.sign_in_sessions import SignInStore
from gridgate.config import Settings, get_settings
from gridgate.security.oidc import IdentityProvider, SignInRefused, random_secret
from gridgate.security.tokens import Principal, TokenError

#: The IdP's role names (claim ``roles``) and the project's token roles they grant on the pages.
#: Anything else the IdP says grants nothing here; residents sign in with the city app, not here.
ROLE_OF_IDP_ROLE = {
    "grid-worker": "grid_worker",
    "data-center-staff": "data_center",
    "public-health-officer": "public_health",
    "correction-officer": "correction_staff",
}
#: The roles whose token carries the IdP's ``grids`` claim: the grids they work in, and nothing
#: outside them (a grid worker's visits, a correction officer's office area).
GRID_SCOPED_ROLES = frozenset({"grid_worker", "correction_staff"})
#: The pages a sign-in may return to (nothing else: no open redirect).
PAGES = ("grid-worker", "data-center", "public-health", "compliance", "correction")
ACCESS_PREFIX, REFRESH_PREFIX = "gsa.", "gsr."
_LOGIN_MINUTES = 10
#: What `random_secret` makes (43 URL-safe characters); anything else is no state of ours, and
#: never reaches the table (a 5,000-character key would be a storage error, not a refusal).
_STATE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_MAX_CODE_LENGTH = 2048


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class PageSession:
    """What a signed-in page gets: its access token, the refresh secret (for the cookie) and who."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime
    session_expires_at: datetime
    principal: Principal
    name: str

    def public(self) -> dict:
        """The JSON the page reads (the refresh secret goes into the cookie, not here)."""
        return {
            "access_token": self.access_token,
            "access_expires_at": self.access_expires_at.isoformat(),
            "session_expires_at": self.session_expires_at.isoformat(),
            "subject": self.principal.subject,
            "name": self.name,
            "roles": sorted(self.principal.roles),
            "grids": sorted(self.principal.grids),
        }


def _split(token: str, prefix: str) -> tuple[str, str]:
    session_id, _, secret = token[len(prefix) :].partition(".") if token.startswith(prefix) else ("", "", "")
    if not (session_id and secret and len(token) < 200):
        raise SignInRefused("bad_session")
    return session_id, secret


class PeopleSignIn:
    def __init__(
        self,
        settings: Settings | None = None,
        provider: IdentityProvider | None = None,
        store: SignInStore | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self._provider = provider
        self.store = store or SignInStore()
        self._audit = audit or AuditLog()

    def _record(self, subject: str, action: str, session_id: str, roles, request_id: str | None) -> None:
        """One audit record of a session's life (the session id only: it opens nothing alone)."""
        self._audit.record(
            subject,
            action,
            f"account#{subject}",
            request_id=request_id,
            detail={"session_id": session_id, "roles": sorted(roles)},
        )

    @property
    def provider(self) -> IdentityProvider:
        """The configured IdP (needed to sign in, not to check a session's access token)."""
        if self._provider is None:
            if not self.settings.oidc_issuer:
                # a stage without an IdP offers no sign-in: not found here, not a server fault
                raise SignInRefused("sign_in_not_configured")
            self._provider = IdentityProvider(self.settings.oidc_issuer, self.settings.oidc_client_id)
        return self._provider

    def begin(self, page: str, redirect_uri: str, locale: str) -> tuple[str, str]:
        """(the IdP login URL to send the browser to, the state to remember in its cookie)."""
        if page not in PAGES:
            raise SignInRefused("bad_page", pages=list(PAGES))
        state, nonce, verifier = random_secret(), random_secret(), random_secret()
        now = clock.now()
        self.store.put_login(
            state,
            {"nonce": nonce, "verifier": verifier, "page": page, "locale": locale, "redirect_uri": redirect_uri},
            now + timedelta(minutes=_LOGIN_MINUTES),
        )
        return self.provider.authorize_url(redirect_uri, state, nonce, verifier, locale), state

    def complete(
        self, state: str, browser_state: str, code: str, request_id: str | None = None
    ) -> tuple[PageSession, str, str]:
        """(the new session, the page to return to, its locale) for the IdP's answer."""
        if not (state and code) or len(code) > _MAX_CODE_LENGTH:
            raise SignInRefused("bad_callback")
        if not _STATE.match(state):
            raise SignInRefused("bad_state")
        if not (browser_state and secrets.compare_digest(state.encode(), browser_state.encode())):
            raise SignInRefused("bad_state")
        now = clock.now()
        login = self.store.take_login(state, now)
        if login is None:
            raise SignInRefused("bad_state")
        id_token = self.provider.exchange(code, login["redirect_uri"], login["verifier"])
        claims = self.provider.verify_id_token(id_token, login["nonce"], now, self.settings.token_leeway_seconds)
        principal = _principal(claims)
        session = self._start(principal, str(claims.get("name") or principal.subject), now, request_id)
        return session, login["page"], login["locale"]

    def _start(self, principal: Principal, name: str, now: datetime, request_id: str | None) -> PageSession:
        session_id = secrets.token_urlsafe(18)
        expires = now + timedelta(hours=self.settings.session_hours)
        session, data, refresh_hash = self._issue(session_id, principal, name, expires, now)
        self.store.put_session(session_id, data, refresh_hash, expires)
        self._record(principal.subject, "sign_in.started", session_id, principal.roles, request_id)
        return session

    def _issue(
        self, session_id: str, principal: Principal, name: str, expires: datetime, now: datetime
    ) -> tuple[PageSession, dict, str]:
        access, refresh = random_secret(), random_secret()
        access_expires = min(now + timedelta(seconds=self.settings.session_access_seconds), expires)
        data = {
            "subject": principal.subject,
            "name": name,
            "roles": sorted(principal.roles),
            "grids": sorted(principal.grids),
            "access_hash": _hash(access),
            "access_expires_at": access_expires.isoformat(),
            "expires_at": expires.isoformat(),
        }
        session = PageSession(
            f"{ACCESS_PREFIX}{session_id}.{access}",
            f"{REFRESH_PREFIX}{session_id}.{refresh}",
            access_expires,
            expires,
            principal,
            name,
        )
        return session, data, _hash(refresh)

    def refresh(self, refresh_token: str, request_id: str | None = None) -> PageSession:
        """A new access token and refresh secret for a live session; the old ones stop working."""
        session_id, secret = _split(refresh_token, REFRESH_PREFIX)
        now = clock.now()
        found = self.store.session(session_id, now)
        if found is None:
            raise SignInRefused("session_ended")
        data, current = found
        if not secrets.compare_digest(_hash(secret), current):
            self.store.end_session(session_id)  # an old refresh secret: a copy is in other hands
            self._record(data["subject"], "sign_in.replayed", session_id, data["roles"], request_id)
            raise SignInRefused("session_replayed")
        principal = Principal(data["subject"], frozenset(data["roles"]), frozenset(data["grids"]))
        session, new_data, refresh_hash = self._issue(
            session_id, principal, data["name"], datetime.fromisoformat(data["expires_at"]), now
        )
        if not self.store.rotate(session_id, current, new_data, refresh_hash):
            raise SignInRefused("session_replayed")
        self._record(principal.subject, "sign_in.refreshed", session_id, principal.roles, request_id)
        return session

    def principal(self, access_token: str) -> Principal:
        """The person an access token stands for; `TokenError` (as for any bearer token) otherwise."""
        try:
            session_id, secret = _split(access_token, ACCESS_PREFIX)
        except SignInRefused:
            raise TokenError("bad_token") from None
        now = clock.now()
        found = self.store.session(session_id, now)
        if found is None:
            raise TokenError("session_ended")
        data, _ = found
        if not secrets.compare_digest(_hash(secret), data["access_hash"]):
            raise TokenError("bad_token")
        if now >= datetime.fromisoformat(data["access_expires_at"]):
            raise TokenError("token_expired")
        return Principal(data["subject"], frozenset(data["roles"]), frozenset(data["grids"]))

    def sign_out(self, refresh_token: str, request_id: str | None = None) -> None:
        """Ends the session of a refresh secret (whatever its state: signing out always succeeds;
        only a live session's end is audited, so a made-up cookie writes nothing)."""
        try:
            session_id, _ = _split(refresh_token, REFRESH_PREFIX)
        except SignInRefused:
            return
        found = self.store.session(session_id, clock.now())
        self.store.end_session(session_id)
        if found is not None:
            data = found[0]
            self._record(data["subject"], "sign_in.signed_out", session_id, data["roles"], request_id)


def _principal(claims: dict) -> Principal:
    idp_roles, grids, subject = claims.get("roles", []), claims.get("grids", []), claims["sub"]
    if not (
        isinstance(subject, str)
        and subject
        and isinstance(idp_roles, list)
        and isinstance(grids, list)
        and all(isinstance(value, str) for value in [*idp_roles, *grids])
    ):
        raise SignInRefused("bad_id_token")
    roles = frozenset(ROLE_OF_IDP_ROLE[role] for role in idp_roles if role in ROLE_OF_IDP_ROLE)
    if not roles:
        raise SignInRefused("no_page_role")
    return Principal(subject, roles, frozenset(grids) if roles & GRID_SCOPED_ROLES else frozenset())


@lru_cache(maxsize=1)
def people_sign_in() -> PeopleSignIn:
    """The process's sign-in service (the IdP's discovery and keys stay cached while warm)."""
    return PeopleSignIn()
