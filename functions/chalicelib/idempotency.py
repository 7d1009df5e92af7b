"""Retried app requests: the same ``Idempotency-Key`` returns the first result, never a second grant or pass.

Built on Powertools idempotency with the `idempotency` table (key "id", TTL "expiration"). The
record's key is the operation name plus a hash of ``<caller>#<Idempotency-Key>``, so a key is
scoped to its caller and operation: two residents who happen to pick the same key never see each
other's results. The request body is fingerprinted too; the same key with a different body is
refused (422 ``idempotency_key_reused``) instead of silently returning the wrong result. While the
first request is still running, a retry gets 409 ``request_in_progress``.

Only successes are stored: when the operation raises (over the cap, bad dates) Powertools deletes
its in-progress record, and a retry is evaluated afresh.

Requests without the header are simply executed (the city app always sends one for writes).
"""

from __future__ import annotations

import re
import threading
from typing import Any, Callable

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from chalice.app import Request

from chalicelib.errors import ApiError
from gridgate.adapters.tables import IdempotencyTable
from gridgate.config import get_settings

HEADER = "idempotency-key"
REPLAY_FLAG = "replayed"
_KEY_SHAPE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def _mark_replay(response: dict, _record) -> dict:
    return {**response, REPLAY_FLAG: True}


class IdempotentOperation:
    """One named write operation whose results are remembered per caller and key."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._run: Callable[..., dict] | None = None
        self._config: IdempotencyConfig | None = None
        self._lock = threading.Lock()

    def _runner(self) -> Callable[..., dict]:
        """Built on first use: the persistence layer's boto3 client must see the deployed endpoint."""
        with self._lock:
            if self._run is None:
                settings = get_settings()
                persistence = DynamoDBPersistenceLayer(
                    table_name=IdempotencyTable.Meta.table_name, key_attr="id", expiry_attr="expiration"
                )
                self._config = config = IdempotencyConfig(
                    event_key_jmespath="key",
                    payload_validation_jmespath="payload",
                    raise_on_no_idempotency_key=True,
                    expires_after_seconds=settings.idempotency_ttl_seconds,
                    hash_function="sha256",
                    response_hook=_mark_replay,
                )
                self._run = idempotent_function(
                    _execute,
                    data_keyword_argument="request",
                    persistence_store=persistence,
                    config=config,
                    key_prefix=f"gridgate.{self._name}",
                )
            return self._run

    def __call__(self, request: Request, caller: str, payload: Any, action: Callable[[], dict]) -> dict:
        """`action()`'s result, or the stored result of the first request with this key."""
        key = (request.headers or {}).get(HEADER)
        if key is None:
            return action()
        if not _KEY_SHAPE.match(key):
            raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key must be 8-128 characters of [A-Za-z0-9._:-]")
        run = self._runner()
        if request.lambda_context is not None:
            # a crashed request's in-progress record then lapses with its invocation, not after the TTL
            self._config.register_lambda_context(request.lambda_context)
        try:
            return run(request={"key": f"{caller}#{key}", "payload": payload}, action=action)
        except IdempotencyValidationError:
            raise ApiError(422, "idempotency_key_reused", "this Idempotency-Key was used for a different request") from None
        except IdempotencyAlreadyInProgressError:
            raise ApiError(409, "request_in_progress", "a request with this Idempotency-Key is still running") from None


def _execute(request: dict, action: Callable[[], dict]) -> dict:
    return action()
