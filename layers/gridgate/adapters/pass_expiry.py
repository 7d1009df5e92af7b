"""Housekeeping of visitor passes: mark passes whose window is over as expired.

Gates never trust the status alone (a pass is checked against its window at every use), so a
stale "active" is not a security hole; but the owner's app and the statistics read the status,
so the nightly reconciliation sets it right. Conditional, so a pass revoked or used up in the
meantime keeps that status.
"""

from __future__ import annotations

import enum
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, UpdateError

from gridgate.adapters.tables import VisitorPassTable
from gridgate.domain.model import PassStatus


class Expiry(str, enum.Enum):
    EXPIRED = "expired"  # marked expired now
    NOT_ACTIVE = "not_active"  # revoked, used up or already expired meanwhile: left as it is
    MISSING = "missing"  # no such pass in the table


def expire_pass(pass_id: str, now: datetime) -> Expiry:
    """Mark the pass expired if it is still active and its window ended before `now`."""
    over = (VisitorPassTable.status == PassStatus.ACTIVE.value) & (VisitorPassTable.valid_until <= now)
    try:
        VisitorPassTable(pass_id=pass_id).update(
            actions=[VisitorPassTable.status.set(PassStatus.EXPIRED.value)], condition=over
        )
        return Expiry.EXPIRED
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
    try:
        VisitorPassTable.get(pass_id, consistent_read=True, attributes_to_get=["pass_id"])
        return Expiry.NOT_ACTIVE
    except DoesNotExist:
        return Expiry.MISSING
