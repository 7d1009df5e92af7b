"""The gate's one write per decision: the access event, with everything that must stand or fall with it.

A decision's event is stored with the condition that no event with its key exists. What must
happen together with it goes into the same DynamoDB transaction (``TransactWriteItems``), in this
order, each with its own condition:

1. the request's nonce (a live decision; `DeviceNonceStore.unused_condition`): the nonce is
   claimed by the write that records the decision instead of a put of its own before it;
2. the event (``attribute_not_exists(pk)``);
3. the pass use (a visitor entry; `PassRepository.usable_condition`, which includes that the pass
   is of the event's estate: the pass id may come from a device's upload);
4. the checks of facts the warm function did not read again for this decision
   (`gridgate.adapters.item_checks`: the resident's QR secret unchanged, the rows of the person's
   right still current), so a resident code costs this one round trip, like a visitor pass.

The transaction's cancellation reasons (one per action, in request order) say which condition
failed, and so what happened:

- the nonce was used: a replayed request. Nothing is stored, no pass is used (`ReplayedRequest`);
- the event exists: a retried device event, even two retries racing each other. Nothing is stored
  and the pass is not used a second time; the retry's own (new) nonce is then claimed alone (a
  second round trip, on a rare path), so a replay of the retry is refused too;
- the pass has no use left (or is revoked, expired): no event claims an opening; the caller
  stores the deny instead (`PassRejected`), again with the nonce;
- a check failed: a fact changed since it was read (`CheckFailed`); nothing is stored and the
  caller decides again from fresh reads;
- and a crash between "nonce claimed", "use counted" and "event stored" cannot happen: there is no
  between.

An event with nothing to go with it (an offline upload that uses no pass) is a plain conditional
put (`EventRepository.append`): a transaction costs DynamoDB twice the writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from gridgate.adapters.device_nonces import DeviceNonceStore
from gridgate.adapters.events import EventRepository, event_to_item
from gridgate.adapters.item_checks import CheckFailed, ItemCheck
from gridgate.adapters.pass_repository import PassRepository
from gridgate.adapters.tables import AccessEventTable, VisitorPassTable
from gridgate.config import Settings
from gridgate.domain.model import AccessEvent
from gridgate.security.device_auth import NonceClaim, ReplayedRequest
from gridgate.security.signed_passes import PassRejected

_NONCE, _EVENT, _PASS, _CHECK = "nonce", "event", "pass", "check"


@lru_cache(maxsize=1)
def _connection(region: str) -> Connection:
    return Connection(region=region)


def _failed(reason) -> bool:
    return reason is not None and reason.code == "ConditionalCheckFailed"


class GateEventWriter:
    def __init__(
        self, events: EventRepository, passes: PassRepository, nonces: DeviceNonceStore, settings: Settings
    ) -> None:
        self._events = events
        self._passes = passes
        self._nonces = nonces
        self._settings = settings

    def append(self, event: AccessEvent, nonce: NonceClaim | None = None, checks: Sequence[ItemCheck] = ()) -> bool:
        """Store `event` once, claiming `nonce` with it, if every check holds (else `CheckFailed`).
        False when the event was stored before."""
        return self._write(event, nonce, None, checks)

    def append_with_pass_use(
        self,
        event: AccessEvent,
        pass_id: str,
        at: datetime,
        nonce: NonceClaim | None = None,
        checks: Sequence[ItemCheck] = (),
    ) -> bool:
        """Store `event`, count one use of `pass_id` at `at` and claim `nonce`: all or nothing.

        Returns False when the event was stored before (nothing changed but the nonce's claim);
        raises `PassRejected` (revoked, used_up, expired, not_yet_valid, unknown_pass) when the pass
        cannot be used, and `ReplayedRequest` when the nonce was used (nothing changed).
        """
        return self._write(event, nonce, (pass_id, at), checks)

    def _write(
        self,
        event: AccessEvent,
        nonce: NonceClaim | None,
        pass_use: tuple[str, datetime] | None,
        checks: Sequence[ItemCheck],
    ) -> bool:
        if nonce is None and pass_use is None and not checks:
            return self._events.append(event)
        # What each action of the transaction is, in the order pynamodb sends them: condition checks,
        # then puts, then updates (the order of the cancellation reasons).
        actions = [_CHECK] * len(checks)
        try:
            with TransactWrite(connection=_connection(self._settings.region)) as tx:
                for check in checks:
                    tx.condition_check(check.table, check.hash_key, check.range_key, condition=check.condition)
                if nonce is not None:
                    tx.save(DeviceNonceStore.item(nonce), condition=DeviceNonceStore.unused_condition(nonce))
                    actions.append(_NONCE)
                tx.save(event_to_item(event, self._settings), condition=AccessEventTable.pk.does_not_exist())
                actions.append(_EVENT)
                if pass_use is not None:
                    pass_id, at = pass_use
                    tx.update(
                        VisitorPassTable(pass_id=pass_id),
                        actions=[VisitorPassTable.uses.add(1)],
                        condition=PassRepository.usable_condition(at, event.estate_id),
                    )
                    actions.append(_PASS)
        except TransactWriteError as exc:
            failed = {action for action, reason in zip(actions, exc.cancellation_reasons) if _failed(reason)}
            if _NONCE in failed:
                raise ReplayedRequest() from None
            if _CHECK in failed:
                raise CheckFailed() from None
            if _EVENT in failed:  # a retry: its stored decision stands; its own nonce is still used up
                if nonce is not None and not self._nonces.claim(nonce):
                    raise ReplayedRequest() from None
                return False
            if _PASS in failed and pass_use is not None:  # the pass action exists only with a pass use
                raise PassRejected(*self._passes.why_unusable(*pass_use, event.estate_id)) from None
            raise
        return True
