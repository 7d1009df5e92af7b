"""The city identity provider, as an OpenID Connect client sees it: PKCE, discovery, the code
exchange and the id token's verification.

The pages are a *public* client (no secret can be kept in a browser, nor needs to be in a
Lambda): the authorization code is bound to the browser's login by PKCE (S256), to the
request by ``state`` and to the id token by ``nonce``. The id token is verified here by
signature against the IdP's JWKS (the key named by ``kid``, its algorithm pinned by the key's
own type, never ``none`` or an HMAC), then issuer, audience (our client id), expiry, issued-at
and nonce, against `gridgate.clock` so tests can pin the instant.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime

import jwt

from gridgate.refusals import CodedError
from gridgate.security.tokens import TokenError, check_token_times

#: Asymmetric algorithms an id token may be signed with (the IdP's key decides which one).
_ALGORITHMS = ("EdDSA", "ES256", "RS256")
_TIMEOUT_SECONDS = 5
_MAX_RESPONSE_BYTES = 256 * 1024


class SignInRefused(CodedError):
    """A step of the sign-in that must be refused: `code` is machine-readable (its HTTP status is
    `chalicelib.refusal_statuses`' to give, as for every refusal)."""


def random_secret() -> str:
    """32 random bytes, URL-safe (state, nonce, PKCE verifier, session secrets)."""
    return secrets.token_urlsafe(32)


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _get_json(url: str, data: dict | None = None) -> dict:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:  # noqa: S310 (configured https URL)
            return json.loads(response.read(_MAX_RESPONSE_BYTES))
    except urllib.error.HTTPError as err:
        try:
            detail = json.loads(err.read(_MAX_RESPONSE_BYTES))
        except ValueError:
            detail = {}
        raise SignInRefused("idp_refused", idp_error=str(detail.get("error", err.code))[:200]) from None
    except (OSError, ValueError):
        raise SignInRefused("idp_unavailable") from None


@dataclass
class IdentityProvider:
    """The configured IdP: its endpoints from discovery, its keys from its JWKS (both cached for
    the life of the warm function; an unknown ``kid`` fetches the keys again, once)."""

    issuer: str
    client_id: str
    _discovery: dict | None = None
    _keys: dict[str, jwt.PyJWK] | None = None

    def discovery(self) -> dict:
        if self._discovery is None:
            document = _get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
            if document.get("issuer") != self.issuer:
                raise SignInRefused("idp_misconfigured")
            self._discovery = document
        return self._discovery

    def authorize_url(self, redirect_uri: str, state: str, nonce: str, verifier: str, locale: str) -> str:
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": "openid profile",
                "state": state,
                "nonce": nonce,
                "code_challenge": pkce_challenge(verifier),
                "code_challenge_method": "S256",
                "ui_locales": locale,
            }
        )
        return f"{self.discovery()['authorization_endpoint']}?{query}"

    def exchange(self, code: str, redirect_uri: str, verifier: str) -> str:
        """The id token the IdP gives for `code` (and the PKCE verifier that proves who asked)."""
        answer = _get_json(
            self.discovery()["token_endpoint"],
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": self.client_id,
                "code_verifier": verifier,
            },
        )
        token = answer.get("id_token")
        if not isinstance(token, str):
            raise SignInRefused("idp_refused")
        return token

    def _key(self, kid: str) -> jwt.PyJWK:
        for refresh in (False, True):
            if self._keys is None or refresh:
                jwks = _get_json(self.discovery()["jwks_uri"])
                self._keys = {}
                for entry in jwks.get("keys", []):
                    try:
                        key = jwt.PyJWK(entry)
                    except jwt.PyJWTError:
                        continue
                    if key.algorithm_name in _ALGORITHMS and isinstance(entry.get("kid"), str):
                        self._keys[entry["kid"]] = key
            if kid in self._keys:
                return self._keys[kid]
        raise SignInRefused("bad_id_token")

    def verify_id_token(self, token: str, nonce: str, now: datetime, leeway: int) -> dict:
        """The id token's claims, once signature, issuer, audience, times and nonce all hold."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise SignInRefused("bad_id_token") from None
        key = self._key(str(header.get("kid", "")))
        if header.get("alg") != key.algorithm_name:
            raise SignInRefused("bad_id_token")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm_name],
                audience=self.client_id,
                issuer=self.issuer,
                options={
                    "require": ["iss", "aud", "sub", "exp", "iat", "nonce"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError:
            raise SignInRefused("bad_id_token") from None
        try:
            check_token_times(claims, now.timestamp(), leeway)
        except TokenError:
            raise SignInRefused("bad_id_token") from None
        if not secrets.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):  # bytes: any text compares
            raise SignInRefused("bad_id_token")
        return claims
