"""Nonces gate devices have already used, so a captured signed request cannot be played again.

A nonce is remembered until its request could no longer pass the timestamp check anyway; after
that the timestamp check alone refuses a replay. DynamoDB's TTL removes old rows eventually (moto
never does), so the conditional write treats an expired row as absent instead of trusting TTL.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError

from gridgate.adapters.tables import DeviceNonceTable


class DeviceNonceStore:
    def claim(self, gate_id: str, nonce: str, *, now: datetime, remember_until: datetime) -> bool:
        """Record `nonce` for `gate_id`; False if it was already used and is still remembered."""
        item = DeviceNonceTable(nonce_key=f"{gate_id}#{nonce}", expires_at=remember_until)
        unused = DeviceNonceTable.nonce_key.does_not_exist() | (DeviceNonceTable.expires_at < now)
        try:
            item.save(condition=unused)
        except PutError as err:
            if err.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True
