"""The gate's one write for a visitor entry: count the pass use AND store the access event, atomically.

One DynamoDB transaction (``TransactWriteItems``) with two conditions: the pass has a use left
(`PassRepository.usable_condition`) and no event with this key exists yet. So:

- a retried device event (same event id) cancels the whole transaction: the pass is not used a
  second time, even when two retries race each other;
- a pass with no use left (or revoked, or expired) cancels it too: no event claims an opening;
  the caller then stores the deny instead;
- and a crash between "use counted" and "event stored" cannot happen: there is no between.

It is also one round trip instead of two, which is most of a QR decision's time.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from gridgate.adapters.events import event_to_item
from gridgate.adapters.passes import PassRepository
from gridgate.adapters.tables import AccessEventTable, VisitorPassTable
from gridgate.config import Settings
from gridgate.domain.model import AccessEvent
from gridgate.security.passes import PassRejected


@lru_cache(maxsize=1)
def _connection(region: str) -> Connection:
    return Connection(region=region)


def _failed(reason) -> bool:
    return reason is not None and reason.code == "ConditionalCheckFailed"


class PassEntryWriter:
    def __init__(self, passes: PassRepository, settings: Settings) -> None:
        self._passes = passes
        self._settings = settings

    def append_with_pass_use(self, event: AccessEvent, pass_id: str, at: datetime) -> bool:
        """Store `event` and count one use of `pass_id` at `at`, both or neither.

        Returns False when the event was stored before (nothing changed); raises `PassRejected`
        (revoked, used_up, expired, not_yet_valid, unknown_pass) when the pass cannot be used.
        """
        item = event_to_item(event, self._settings)
        try:
            with TransactWrite(connection=_connection(self._settings.region)) as tx:
                tx.save(item, condition=AccessEventTable.pk.does_not_exist())
                tx.update(
                    VisitorPassTable(pass_id=pass_id),
                    actions=[VisitorPassTable.uses.add(1)],
                    condition=PassRepository.usable_condition(at),
                )
        except TransactWriteError as exc:
            event_reason, pass_reason = exc.cancellation_reasons  # in request order: put, then update
            if _failed(event_reason):
                return False
            if _failed(pass_reason):
                raise PassRejected(*self._passes.why_unusable(pass_id, at)) from None
            raise
        return True
