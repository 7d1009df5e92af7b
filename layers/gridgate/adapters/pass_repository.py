"""Visitor passes in the table: what the signature cannot say (revoked? uses left?) lives here.

`consume_use` is the gate's one write for a visitor: a single conditional update that adds one use
only if the pass exists, is active, is inside its window and has a use left. DynamoDB applies it
atomically, so two gates scanning the same single-use pass at the same moment open once. When the
update is refused, one consistent read says why, for the access event's explanation.

The visitor's name is personal data: it is sealed like every identifier (`IdentifierProtector`),
bound to the pass id.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from gridgate.adapters.tables import VisitorPassTable
from gridgate.config import get_settings
from gridgate.domain.model import PassStatus, VisitorPass
from gridgate.security.identifiers import IdentifierProtector
from gridgate.security.signed_passes import PassRejected

_T = VisitorPassTable


def _name_context(pass_id: str) -> str:
    return f"{pass_id}/visitor"


class PassRepository:
    def __init__(self, protector: IdentifierProtector) -> None:
        self._protector = protector

    def to_item(self, visitor_pass: VisitorPass) -> VisitorPassTable:
        retention = timedelta(days=get_settings().event_retention_days)
        return VisitorPassTable(
            pass_id=visitor_pass.pass_id,
            estate_id=visitor_pass.estate_id,
            home_id=visitor_pass.home_id,
            issued_by=visitor_pass.issued_by,
            visitor_name_enc=self._protector.encrypt(
                visitor_pass.visitor_name, context=_name_context(visitor_pass.pass_id)
            ),
            valid_from=visitor_pass.valid_from,
            valid_until=visitor_pass.valid_until,
            key_id=visitor_pass.key_id,
            max_uses=visitor_pass.max_uses,
            uses=visitor_pass.uses,
            status=visitor_pass.status.value,
            revoked_at=visitor_pass.revoked_at,
            # kept as long as the access events that name it, then removed by DynamoDB's TTL
            expires_at=visitor_pass.valid_until + retention,
        )

    def from_item(self, item: VisitorPassTable) -> VisitorPass:
        return VisitorPass(
            pass_id=item.pass_id,
            estate_id=item.estate_id,
            home_id=item.home_id,
            issued_by=item.issued_by,
            visitor_name=self._protector.decrypt(item.visitor_name_enc, context=_name_context(item.pass_id)),
            valid_from=item.valid_from,
            valid_until=item.valid_until,
            key_id=item.key_id,
            max_uses=int(item.max_uses) if item.max_uses is not None else None,
            uses=int(item.uses or 0),
            status=PassStatus(item.status),
            revoked_at=item.revoked_at,
        )

    def create(self, visitor_pass: VisitorPass) -> None:
        """Store a new pass; a pass id is never reused."""
        try:
            self.to_item(visitor_pass).save(condition=_T.pass_id.does_not_exist())
        except PutError as exc:
            raise ValueError(f"pass id {visitor_pass.pass_id} already exists") from exc

    def get(self, pass_id: str) -> VisitorPass | None:
        try:
            return self.from_item(_T.get(pass_id, consistent_read=True))
        except DoesNotExist:
            return None

    def of_home(self, home_id: str) -> list[VisitorPass]:
        """A home's passes, newest first."""
        return [self.from_item(i) for i in _T.by_home.query(home_id, scan_index_forward=False)]

    def page_of_home(
        self, home_id: str, limit: int, start: dict | None = None
    ) -> tuple[list[VisitorPass], dict | None]:
        """At most `limit` of the home's passes, newest first, after DynamoDB key `start`, and the
        ``LastEvaluatedKey`` to resume at (None when the query is done; it may lead to an empty page)."""
        found = _T.by_home.query(home_id, scan_index_forward=False, limit=limit, last_evaluated_key=start)
        passes = [self.from_item(i) for i in found]
        return passes, found.last_evaluated_key

    def not_over_in_estate(self, estate_id: str, now: datetime) -> list[VisitorPass]:
        """The estate's passes whose window has not ended (the offline snapshot's revocation list)."""
        return [self.from_item(i) for i in _T.by_estate.query(estate_id, _T.valid_until > now)]

    def revoke(self, pass_id: str, at: datetime) -> VisitorPass:
        """Revoke a pass that is still active; raises `PassRejected` (unknown_pass, or its status)."""
        item = _T(pass_id=pass_id)
        try:
            item.update(
                actions=[_T.status.set(PassStatus.REVOKED.value), _T.revoked_at.set(at)],
                condition=_T.status == PassStatus.ACTIVE.value,
            )
        except UpdateError:
            current = self.get(pass_id)
            reason = "unknown_pass" if current is None else current.status.value
            raise PassRejected(reason, "pass is not active") from None
        return self.from_item(item)  # the update returned the whole new item

    @staticmethod
    def usable_condition(now: datetime, estate_id: str | None = None):
        """The condition under which one more use of a pass may be counted at `now` (at `estate_id`).

        Also used by the gate, which counts the use and stores the access event in one transaction.
        The gate always names its own estate: the pass id comes from the device (an offline upload
        says which pass it used), so without it a gate could use up another estate's pass.
        """
        condition = (
            _T.pass_id.exists()
            & (_T.status == PassStatus.ACTIVE.value)
            & (_T.valid_from <= now)
            & (_T.valid_until > now)
            & (_T.max_uses.does_not_exist() | (_T.uses < _T.max_uses))
        )
        return condition if estate_id is None else condition & (_T.estate_id == estate_id)

    def consume_use(self, pass_id: str, now: datetime, estate_id: str | None = None) -> VisitorPass:
        """Count one use of a pass, atomically; raises `PassRejected` with the reason it cannot be used."""
        item = _T(pass_id=pass_id)
        try:
            item.update(actions=[_T.uses.add(1)], condition=self.usable_condition(now, estate_id))
        except UpdateError:
            raise PassRejected(*self.why_unusable(pass_id, now, estate_id)) from None
        return self.from_item(item)

    def why_unusable(self, pass_id: str, now: datetime, estate_id: str | None = None) -> tuple[str, str]:
        """(reason, message) of a pass whose use was refused, from one consistent read."""
        current = self.get(pass_id)
        if current is None:
            return "unknown_pass", "no such pass"
        if estate_id is not None and current.estate_id != estate_id:
            return "wrong_estate", "the pass is for another estate"
        if current.status == PassStatus.REVOKED:
            return "revoked", "the owner revoked this pass"
        if current.status != PassStatus.ACTIVE:
            return current.status.value, f"pass is {current.status.value}"
        if now >= current.valid_until:
            return "expired", "pass has expired"
        if now < current.valid_from:
            return "not_yet_valid", "pass is not valid yet"
        return "used_up", "pass has no use left"
