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

The stored result is sealed (`SealedDynamoDBPersistenceLayer`): AES-GCM under the keyring's field
key, bound to the record's key. An issued pass's result holds the visitor's name, the signed QR
text that opens the gate and its PNG; in clear, anyone who can read the table for its 24 hours
could walk in on the pass and read who visits whom, which the README promises is stored only as
ciphertext. A replay decrypts it again; a record moved under another key does not decrypt.
"""

from __future__ import annotations

import base64
import copy
import re
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from chalice.app import Request

from gridgate.adapters.tables import IdempotencyTable
from gridgate.config import get_settings
from gridgate.refusals import Conflict, Invalid
from gridgate.security.identifiers import IdentifierProtector
from gridgate.security.keyring import get_keyring

HEADER = "idempotency-key"
REPLAY_FLAG = "replayed"
_KEY_SHAPE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


_SEALED_PREFIX = "sealed:v1:"


@lru_cache(maxsize=1)
def _protector() -> IdentifierProtector:
    return IdentifierProtector(get_keyring())


class SealedDynamoDBPersistenceLayer(DynamoDBPersistenceLayer):
    """Powertools' DynamoDB persistence with the stored result encrypted, never in clear."""

    def _update_record(self, data_record: DataRecord):
        sealed = copy.copy(data_record)
        if data_record.response_data is not None:
            ciphertext = _protector().encrypt(
                data_record.response_data, context=self._context(data_record.idempotency_key)
            )
            sealed.response_data = _SEALED_PREFIX + base64.b64encode(ciphertext).decode("ascii")
        return super()._update_record(sealed)

    def _item_to_data_record(self, item: dict[str, Any]) -> DataRecord:
        record = super()._item_to_data_record(item)
        stored = record.response_data
        if isinstance(stored, str) and stored.startswith(_SEALED_PREFIX):
            ciphertext = base64.b64decode(stored[len(_SEALED_PREFIX) :])
            record.response_data = _protector().decrypt(ciphertext, context=self._context(record.idempotency_key))
        return record

    @staticmethod
    def _context(idempotency_key: str) -> str:
        return f"idempotency#{idempotency_key}"


def _mark_replay(response: dict, idempotent_data: DataRecord) -> dict:
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
                persistence = SealedDynamoDBPersistenceLayer(
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
        key = request.headers.get(HEADER)
        if key is None:
            return action()
        if not _KEY_SHAPE.match(key):
            raise Invalid("invalid_idempotency_key")
        run = self._runner()
        if request.lambda_context is not None and self._config is not None:  # the runner built the config
            # a crashed request's in-progress record then lapses with its invocation, not after the TTL
            self._config.register_lambda_context(request.lambda_context)
        try:
            return run(request={"key": f"{caller}#{key}", "payload": payload}, action=action)
        except IdempotencyValidationError:
            raise Conflict("idempotency_key_reused") from None
        except IdempotencyAlreadyInProgressError:
            raise Conflict("request_in_progress") from None


def _execute(request: dict, action: Callable[[], dict]) -> dict:
    return action()
