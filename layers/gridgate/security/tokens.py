"""Bearer tokens of the city app: who is calling, in which roles, for which grids.

App calls carry a JWT from the city's identity provider. The API checks it completely, locally,
with the IdP's *public* keys only (`Keyring.token_verify_keys`, by the JWT's ``kid``): the
algorithm is pinned to EdDSA (so neither ``alg: none`` nor an HMAC-with-the-public-key token can
pass), then signature, issuer, audience, expiry, not-before and issued-at, with a small leeway for
clock drift. Each failure has its own code, so the app knows whether to refresh or re-login.

`issue_token` is the LOCAL issuer: the emulator, the tests and the demo play the IdP with the
keyring's `token_issuer_key`. In AWS that key is absent and tokens come from the city IdP.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from gridgate import clock
from gridgate.config import Settings, get_settings
from gridgate.refusals import CodedError
from gridgate.security.keyring import Keyring, get_keyring

#: Roles a token may carry; anything else in the claim is ignored (it grants nothing here). The
#: offices are outside systems that receive events (docs/events-out.md): a street office for its
#: grids, a district's civil-affairs or justice (community correction) office for its districts.
#: ``public_health``: an officer running approved epidemic flow queries (no other data);
#: ``correction_staff``: community-correction staff, the only readers of correction alerts in the API.
ROLES = frozenset(
    {
        "resident",
        "grid_worker",
        "data_center",
        "property_company",
        "street_office",
        "civil_affairs_office",
        "justice_office",
        "public_health",
        "correction_staff",
    }
)
_ALGORITHM = "EdDSA"


@dataclass(frozen=True)
class Principal:
    """The verified caller. `subject` is the person id (residents) or the staff id (workers)."""

    subject: str
    roles: frozenset[str]
    grids: frozenset[str] = frozenset()
    #: A property company: the estates it manages (the only ones whose events it may receive).
    estates: frozenset[str] = frozenset()
    #: A district office (civil affairs, justice): the districts it serves.
    districts: frozenset[str] = frozenset()


class TokenError(CodedError):
    """A bearer token that must be refused: `code` is one of token_expired, token_not_yet_valid,
    bad_token, unknown_key, wrong_issuer, wrong_audience."""


def issue_token(
    subject: str,
    roles: Iterable[str],
    grids: Iterable[str] = (),
    ttl_seconds: int = 900,
    *,
    estates: Iterable[str] = (),
    districts: Iterable[str] = (),
    now: datetime | None = None,
    keyring: Keyring | None = None,
    settings: Settings | None = None,
) -> str:
    """A token from the local issuer (the emulator playing the city IdP)."""
    keyring = keyring or get_keyring()
    settings = settings or get_settings()
    if not keyring.token_issuer_key:
        raise RuntimeError("this keyring has no local token issuer (in AWS the city IdP issues tokens)")
    issued = now or clock.now()
    claims = {
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "sub": subject,
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()),
        "exp": int((issued + timedelta(seconds=ttl_seconds)).timestamp()),
        "jti": uuid.uuid4().hex,
        "roles": sorted(set(roles)),
        "grids": sorted(set(grids)),
        "estates": sorted(set(estates)),
        "districts": sorted(set(districts)),
    }
    key = Ed25519PrivateKey.from_private_bytes(keyring.token_issuer_key)
    return jwt.encode(claims, key, algorithm=_ALGORITHM, headers={"kid": keyring.token_issuer_key_id})


def verify_bearer(
    token: str,
    now: datetime | None = None,
    *,
    keyring: Keyring | None = None,
    settings: Settings | None = None,
) -> Principal:
    """The caller a token proves; raises `TokenError` for anything short of a valid token."""
    keyring = keyring or get_keyring()
    settings = settings or get_settings()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenError("bad_token") from None
    if header.get("alg") != _ALGORITHM:
        raise TokenError("bad_token")
    public_key = keyring.token_verify_keys.get(str(header.get("kid", "")))
    if public_key is None:
        raise TokenError("unknown_key")
    try:
        claims = jwt.decode(
            token,
            Ed25519PublicKey.from_public_bytes(public_key),
            algorithms=[_ALGORITHM],
            audience=settings.token_audience,
            issuer=settings.token_issuer,
            # times are checked below against `now`, so tests and replays can pin the clock
            options={
                "require": ["iss", "aud", "sub", "exp", "iat"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidAudienceError:
        raise TokenError("wrong_audience") from None
    except jwt.InvalidIssuerError:
        raise TokenError("wrong_issuer") from None
    except jwt.PyJWTError:
        raise TokenError("bad_token") from None
    check_token_times(claims, (now or clock.now()).timestamp(), settings.token_leeway_seconds)
    return _principal(claims)


#: JSON's integers are unbounded; a NumericDate beyond 2^53 s (285 million years) is no date.
_LATEST_NUMERIC_DATE = 2**53


def check_token_times(claims: dict, now: float, leeway: int) -> None:
    """Raises `TokenError` unless the JWT's times hold at `now` (also for the IdP's id tokens).

    exp / iat / nbf must be whole seconds: JSON lets a token say ``1e400`` (infinity once a float),
    ``NaN`` or ``"1700000000"``, and a float() of those made a token that never expires."""
    expires, issued, not_before = (claims.get(k, claims["iat"]) for k in ("exp", "iat", "nbf"))
    if not all(_numeric_date(value) for value in (expires, issued, not_before)):
        raise TokenError("bad_token")
    if now >= expires + leeway:
        raise TokenError("token_expired")
    if now + leeway < max(issued, not_before):
        raise TokenError("token_not_yet_valid")


def _numeric_date(value) -> bool:
    return type(value) is int and 0 <= value < _LATEST_NUMERIC_DATE


def _principal(claims: dict) -> Principal:
    roles, grids, subject = claims.get("roles", []), claims.get("grids", []), claims["sub"]
    estates, districts = claims.get("estates", []), claims.get("districts", [])
    if not (isinstance(subject, str) and subject):
        raise TokenError("bad_token")
    if not (_strings(roles) and _strings(grids) and _strings(estates) and _strings(districts)):
        raise TokenError("bad_token")
    return Principal(
        subject=subject,
        roles=frozenset(roles) & ROLES,
        grids=frozenset(grids),
        estates=frozenset(estates),
        districts=frozenset(districts),
    )


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
