"""Grants of access to a home, with the home's grant cap enforced atomically.

The cap lives on the home item as a counter, `HomeTable.granted_count`: the number of grants that
hold a slot. Every change of that number happens in ONE DynamoDB transaction with the grant it is
about:

- create: put the grant (new id) + ``granted_count += 1`` and ``grantee_ids += {grantee}`` on
  condition ``granted_count < cap AND NOT contains(grantee_ids, grantee)``;
- revoke / expire: grant ``status: active -> revoked|expired`` on condition it is still active
  + ``granted_count -= 1`` and ``grantee_ids -= {grantee}``.

So one person holds at most one active grant per home, however many requests race: a check that
reads the grants and then writes let 20 concurrent requests create up to 9 grants for one person,
each taking a slot, and revoking one of them left the others opening the gate.

So two owners' phones granting at once cannot both take the last slot, and a slot is released
exactly once. A grant holds a slot from creation (even if it starts next month: the room is
promised) until it is revoked or expires.

Expired grants and slots: a grant whose `ends_on` has passed never opens a gate (rights check the
dates), but its slot is released only when the grant is marked expired. `expire_due` does that; it
runs before every grant creation and listing on the home, so an owner is never refused a slot held
by an ended grant, and a nightly job may run it over all homes. Because each expiry is conditional
on the grant still being active, running it twice, or concurrently with a revoke, releases the
slot once.

`granted_count` is maintained by this repository only; a grant written any other way would not
hold a slot.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from functools import lru_cache

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from gridgate.adapters.item_checks import ItemCheck
from gridgate.adapters.tables import GrantTable, HomeTable
from gridgate.config import get_settings
from gridgate.domain.model import Grant, GrantStatus, Relation


class CapReached(Exception):
    """The home has no free grant slot (or does not exist)."""


class AlreadyGranted(Exception):
    """The grantee already holds an active grant for the home."""


class GrantNotActive(Exception):
    """The grant is already revoked or expired (or does not exist)."""


@lru_cache(maxsize=1)
def _connection() -> Connection:
    """One low-level connection for transactions (a botocore client is costly to create)."""
    return Connection(region=get_settings().region)


def grant_to_item(grant: Grant) -> GrantTable:
    return GrantTable(
        home_id=grant.home_id,
        grant_id=grant.grant_id,
        estate_id=grant.estate_id,
        grantee_id=grant.grantee_id,
        relation=grant.relation.value,
        starts_on=grant.starts_on.isoformat(),
        ends_on=grant.ends_on.isoformat() if grant.ends_on else None,
        granted_by=grant.granted_by,
        status=grant.status.value,
        created_at=grant.created_at,
        revoked_at=grant.revoked_at,
    )


def grant_from_item(item: GrantTable) -> Grant:
    return Grant(
        grant_id=item.grant_id,
        home_id=item.home_id,
        estate_id=item.estate_id,
        grantee_id=item.grantee_id,
        relation=Relation(item.relation),
        starts_on=date.fromisoformat(item.starts_on),
        ends_on=date.fromisoformat(item.ends_on) if item.ends_on else None,
        granted_by=item.granted_by,
        status=GrantStatus(item.status),
        created_at=item.created_at,
        revoked_at=item.revoked_at,
    )


def _is_condition_failure(reason) -> bool:
    return reason is not None and reason.code == "ConditionalCheckFailed"


class GrantRepository:
    def create(self, grant: Grant, cap: int) -> None:
        """Store an active grant, take one of the home's `cap` slots and mark its grantee, atomically.

        `AlreadyGranted` if the grantee holds an active grant here, `CapReached` if no slot is free.
        """
        room_left = HomeTable.granted_count.does_not_exist() | (HomeTable.granted_count < cap)
        not_holding = HomeTable.grantee_ids.does_not_exist() | ~HomeTable.grantee_ids.contains(grant.grantee_id)
        try:
            with TransactWrite(connection=_connection()) as tx:
                tx.update(
                    HomeTable(home_id=grant.home_id),
                    actions=[HomeTable.granted_count.add(1), HomeTable.grantee_ids.add({grant.grantee_id})],
                    condition=HomeTable.home_id.exists() & room_left & not_holding,
                )
                tx.save(grant_to_item(grant), condition=GrantTable.grant_id.does_not_exist())
        except TransactWriteError as exc:
            _, home_reason = exc.cancellation_reasons  # pynamodb sends puts before updates
            if not _is_condition_failure(home_reason):
                raise
            if grant.grantee_id in (self._home_grantees(grant.home_id) or ()):
                raise AlreadyGranted(f"{grant.grantee_id} already holds a grant for home {grant.home_id}") from None
            raise CapReached(f"home {grant.home_id} has no free grant slot (cap {cap})") from None

    @staticmethod
    def _home_grantees(home_id: str) -> set[str] | None:
        try:
            return HomeTable.get(home_id, consistent_read=True, attributes_to_get=["grantee_ids"]).grantee_ids
        except DoesNotExist:
            return None

    def get(self, home_id: str, grant_id: str) -> Grant | None:
        """A strongly consistent read: a revocation is seen at once."""
        try:
            return grant_from_item(GrantTable.get(home_id, grant_id, consistent_read=True))
        except DoesNotExist:
            return None

    @staticmethod
    def effective_check(home_id: str, grant_id: str, on: date) -> ItemCheck:
        """`Grant.is_effective(on)` as a condition of a write on the stored grant."""
        day = on.isoformat()
        effective = (
            (GrantTable.status == GrantStatus.ACTIVE.value)
            & (GrantTable.starts_on <= day)
            & (GrantTable.ends_on.does_not_exist() | (GrantTable.ends_on >= day))
        )
        return ItemCheck(GrantTable, home_id, grant_id, effective)

    def of_home(self, home_id: str) -> list[Grant]:
        return [grant_from_item(i) for i in GrantTable.query(home_id, consistent_read=True)]

    def active_for_grantee(self, person_id: str) -> list[Grant]:
        """The person's grants that are still active, re-read consistently.

        The by-grantee index is eventually consistent, and status only ever moves away from
        active: an index entry that is no longer active is final, one that still says active is
        re-read from the table so a revocation a moment ago is already seen.
        """
        candidates = GrantTable.by_grantee.query(
            person_id, filter_condition=GrantTable.status == GrantStatus.ACTIVE.value
        )
        fresh = (self.get(item.home_id, item.grant_id) for item in candidates)
        return [g for g in fresh if g is not None and g.status == GrantStatus.ACTIVE]

    def active_in_estate(self, estate_id: str) -> list[Grant]:
        """Every grant at an estate still marked active (index read: for galleries, not decisions)."""
        items = GrantTable.by_estate.query(estate_id, filter_condition=GrantTable.status == GrantStatus.ACTIVE.value)
        return [grant_from_item(i) for i in items]

    def revoke(self, home_id: str, grant_id: str, at: datetime) -> Grant:
        """Revoke an active grant and free its slot; `GrantNotActive` if it is not active."""
        return self._release(home_id, grant_id, GrantStatus.REVOKED, at)

    def expire_due(self, home_id: str, today: date) -> list[Grant]:
        """Mark the home's active grants that ended before `today` expired, freeing their slots."""
        expired = []
        for grant in self.of_home(home_id):
            if grant.status == GrantStatus.ACTIVE and grant.ends_on is not None and grant.ends_on < today:
                try:
                    expired.append(self._release(home_id, grant.grant_id, GrantStatus.EXPIRED, None))
                except GrantNotActive:
                    continue  # revoked or expired meanwhile: its slot is already free
        return expired

    def _release(self, home_id: str, grant_id: str, status: GrantStatus, revoked_at: datetime | None) -> Grant:
        grant = self.get(home_id, grant_id)
        if grant is None:
            raise GrantNotActive(f"no grant {grant_id} at home {home_id}")
        actions: list[Action] = [GrantTable.status.set(status.value)]
        if revoked_at is not None:
            actions.append(GrantTable.revoked_at.set(revoked_at))
        still_active = GrantTable.status == GrantStatus.ACTIVE.value
        unmark = HomeTable.grantee_ids.delete({grant.grantee_id})
        try:
            with TransactWrite(connection=_connection()) as tx:
                tx.update(GrantTable(home_id=home_id, grant_id=grant_id), actions=actions, condition=still_active)
                tx.update(
                    HomeTable(home_id=home_id),
                    actions=[HomeTable.granted_count.add(-1), unmark],
                    condition=HomeTable.granted_count > 0,
                )
        except TransactWriteError as exc:
            grant_reason, home_reason = exc.cancellation_reasons
            if _is_condition_failure(grant_reason):
                raise GrantNotActive(f"grant {grant_id} is not active") from None
            if not _is_condition_failure(home_reason):
                raise
            # The counter is already 0 (the home item was rewritten without it): ending the
            # grant must still work, and there is no slot to give back.
            try:
                GrantTable(home_id=home_id, grant_id=grant_id).update(actions=actions, condition=still_active)
            except UpdateError:
                raise GrantNotActive(f"grant {grant_id} is not active") from None
            HomeTable(home_id=home_id).update(actions=[unmark], condition=HomeTable.home_id.exists())
        return replace(grant, status=status, revoked_at=revoked_at)
