"""``GET /health``: whether this function can serve, for load balancers, uptime checks and operators.

Unauthenticated, so it says only yes or no per check, with how long each took: never a table
name, key id, endpoint or exception message (a probe must not map the deployment for a stranger).

- ``table``: a key read on the places table reaches DynamoDB with this function's role and key
  (a missing item is fine; an unreachable endpoint, a denied role or a disabled KMS key is not);
- ``keyring``: the keyring loads now (Secrets Manager or the local file: read afresh, not the
  warm function's cached copy, so a deleted secret or a revoked permission shows) and holds its
  field and identifier keys, without which no personal data can be read or matched;
- ``clock``: the clock answers an aware UTC instant in a plausible year, and the city's local
  date follows from it (tokens, passes and device signatures all depend on it).

200 when every check passes, else a 503 problem (``code`` ``unavailable``) carrying the same ``checks``.
"""

from __future__ import annotations

import time

from chalice import Blueprint, Response
from pydantic import BaseModel

from chalicelib.errors import ApiError
from chalicelib.logs import logger
from chalicelib.openapi import documented
from gridgate import clock
from gridgate.adapters.tables import PlaceTable
from gridgate.config import get_settings
from gridgate.refusals import Unavailable
from gridgate.security.keyring import load_keyring

bp = Blueprint(__name__)
PROBE_KEY = "health#probe"
PLAUSIBLE_YEARS = range(2024, 2100)


def _table() -> None:
    try:
        PlaceTable.get(PROBE_KEY)
    except PlaceTable.DoesNotExist:
        pass


def _keyring() -> None:
    keyring = load_keyring(get_settings())
    if len(keyring.field_key) != 32 or not keyring.id_hash_key:
        raise ValueError("keyring lacks its field or identifier key")


def _clock() -> None:
    now = clock.now()
    if now.utcoffset() is None or now.year not in PLAUSIBLE_YEARS:
        raise ValueError("implausible clock")
    clock.city_clock().today()


CHECKS = {"table": _table, "keyring": _keyring, "clock": _clock}


class HealthCheck(BaseModel):
    ok: bool
    ms: float


class HealthView(BaseModel):
    """``status`` "ok"; ``checks``: table, keyring, clock (a 503 problem carries the same ``checks``)."""

    status: str
    checks: dict[str, HealthCheck]
    at: str


def run_checks() -> dict[str, dict]:
    results = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
            ok = True
        except Exception as failed:  # any failure is "not healthy"; its detail goes to the log only
            logger.error("health check failed", extra={"check": name, "error": type(failed).__name__})
            ok = False
        results[name] = {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1)}
    return results


@bp.route("/health", methods=["GET"])
@documented(responses={200: HealthView}, errors=(503,))
def health():
    """Whether this function can serve: table reachable, keyring loadable, clock sane (no auth).

    200 when all checks pass; otherwise 503, a problem whose ``checks`` member names each check
    and how long it took (one error shape for every 4xx/5xx, this one included).
    """
    checks = run_checks()
    if not all(c["ok"] for c in checks.values()):
        failed = ", ".join(name for name, c in checks.items() if not c["ok"])
        refusal = Unavailable("unavailable", failed=failed, checks=checks, at=clock.now().isoformat())
        raise ApiError.refused(refusal, headers={"Cache-Control": "no-store"})
    body = {"status": "ok", "checks": checks, "at": clock.now().isoformat()}
    return Response(
        body=body, status_code=200, headers={"Content-Type": "application/json", "Cache-Control": "no-store"}
    )
