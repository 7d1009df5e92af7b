"""Signing in, refreshing, a refused replay and signing out leave audit records (issue 16.2/3),
through the sign-in service with fakes at its ports: the IdP, the session store and the audit log.
The OIDC checks themselves and the HTTP flow are in tests/pages/test_sign_in.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gridgate import clock
from gridgate.config import get_settings
from gridgate.security.oidc import SignInRefused
from gridgate.sign_in.people_sign_in import PeopleSignIn

from .fakes import FakeAudit

pytestmark = pytest.mark.fast

NOW = datetime(2026, 3, 14, 0, 30, tzinfo=UTC)  # 08:30 in the city: a working day starts
WORKER = "worker-7"


class FakeIdentityProvider:
    """Answers every code with the claims of one grid worker (the real checks are the IdP tests')."""

    def authorize_url(self, redirect_uri: str, state: str, nonce: str, verifier: str, locale: str) -> str:
        return f"https://idp.invalid/authorize?state={state}"

    def exchange(self, code: str, redirect_uri: str, verifier: str) -> str:
        return "id-token"

    def verify_id_token(self, id_token: str, nonce: str, now: datetime, leeway: int) -> dict:
        return {"sub": WORKER, "name": "王网格", "roles": ["grid-worker"], "grids": ["G-01"]}


class FakeSignInStore:
    def __init__(self) -> None:
        self.logins: dict[str, tuple[dict, datetime]] = {}
        self.sessions: dict[str, tuple[dict, str, datetime]] = {}

    def put_login(self, state: str, data: dict, expires_at: datetime) -> None:
        self.logins[state] = (data, expires_at)

    def take_login(self, state: str, now: datetime) -> dict | None:
        data, expires_at = self.logins.pop(state, ({}, now))
        return data if expires_at > now else None

    def put_session(self, session_id: str, data: dict, refresh_hash: str, expires_at: datetime) -> None:
        self.sessions[session_id] = (data, refresh_hash, expires_at)

    def session(self, session_id: str, now: datetime) -> tuple[dict, str] | None:
        found = self.sessions.get(session_id)
        return (found[0], found[1]) if found and found[2] > now else None

    def rotate(self, session_id: str, expected_refresh_hash: str, data: dict, refresh_hash: str) -> bool:
        found = self.sessions.get(session_id)
        if found is None or found[1] != expected_refresh_hash:
            return False
        self.sessions[session_id] = (data, refresh_hash, found[2])
        return True

    def end_session(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)


@pytest.fixture
def audit() -> FakeAudit:
    return FakeAudit()


@pytest.fixture
def service(audit: FakeAudit) -> PeopleSignIn:
    return PeopleSignIn(get_settings(), FakeIdentityProvider(), FakeSignInStore(), audit)  # type: ignore[arg-type]


def _signed_in(service: PeopleSignIn):
    _, state = service.begin("grid-worker", "https://gridgate.invalid/auth/callback", "zh-CN")
    session, _, _ = service.complete(state, state, "code", request_id="req-1")
    return session


def test_a_whole_session_is_audited_start_refresh_and_sign_out(service: PeopleSignIn, audit: FakeAudit) -> None:
    with clock.pinned(NOW):
        session = _signed_in(service)
    with clock.pinned(NOW + timedelta(minutes=10)):
        refreshed = service.refresh(session.refresh_token, request_id="req-2")
        service.sign_out(refreshed.refresh_token, request_id="req-3")
    subject = f"account#{WORKER}"
    assert audit.records == [
        (WORKER, "sign_in.started", subject),
        (WORKER, "sign_in.refreshed", subject),
        (WORKER, "sign_in.signed_out", subject),
    ]
    session_id = session.refresh_token.split(".")[1]
    assert [d["request_id"] for d in audit.details] == ["req-1", "req-2", "req-3"]
    assert all(d["session_id"] == session_id and d["roles"] == ["grid_worker"] for d in audit.details)
    # the audit holds the session's id, never a secret that would open it
    secrets = {session.refresh_token, session.access_token, refreshed.refresh_token, refreshed.access_token}
    for detail in audit.details:
        assert not any(secret.split(".")[-1] in str(detail) for secret in secrets)


def test_a_replayed_refresh_secret_is_audited_as_such(service: PeopleSignIn, audit: FakeAudit) -> None:
    with clock.pinned(NOW):
        session = _signed_in(service)
        service.refresh(session.refresh_token)
        with pytest.raises(SignInRefused) as refused:
            service.refresh(session.refresh_token)  # the old secret again: a copy is in other hands
    assert refused.value.code == "session_replayed"
    assert [action for _, action, _ in audit.records] == ["sign_in.started", "sign_in.refreshed", "sign_in.replayed"]


def test_signing_out_with_a_made_up_or_ended_session_writes_nothing(service: PeopleSignIn, audit: FakeAudit) -> None:
    with clock.pinned(NOW):
        session = _signed_in(service)
        service.sign_out(session.refresh_token)
        before = len(audit.records)
        service.sign_out(session.refresh_token)  # already ended
        service.sign_out("gsr.no-such-session.secret")
        service.sign_out("not a token at all")
    assert len(audit.records) == before == 2
