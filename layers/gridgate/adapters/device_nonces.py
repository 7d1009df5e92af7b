"""Nonces gate devices have already used, so a captured signed request cannot be played again.

A nonce is remembered until its request could no longer pass the timestamp check anyway; after
that the timestamp check alone refuses a replay. DynamoDB's TTL removes old rows eventually (moto
never does), so the conditional write treats an expired row as absent instead of trusting TTL.

A nonce is claimed either alone (`DeviceNonceStore.claim`) or as one action of a gate decision's
transaction (`gridgate.adapters.gate_writes`); both write `item` under `unused_condition`.
"""

from __future__ import annotations

from pynamodb.exceptions import PutError

from gridgate.adapters.tables import DeviceNonceTable
from gridgate.security.device_auth import NonceClaim


class DeviceNonceStore:
    @staticmethod
    def item(claim: NonceClaim) -> DeviceNonceTable:
        return DeviceNonceTable(nonce_key=f"{claim.gate_id}#{claim.nonce}", expires_at=claim.remember_until)

    @staticmethod
    def unused_condition(claim: NonceClaim):
        """The nonce was never used by that gate, or is no longer remembered at `claim.now`."""
        return DeviceNonceTable.nonce_key.does_not_exist() | (DeviceNonceTable.expires_at < claim.now)

    def claim(self, claim: NonceClaim) -> bool:
        """Record the nonce as used; False if it was already used and is still remembered."""
        try:
            self.item(claim).save(condition=self.unused_condition(claim))
        except PutError as err:
            if err.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True
