"""Owners issue, list and revoke visitor passes for their homes (paper §3.1.2: valid 24 hours).

A pass is bound to the estate of the owner's home and signed with the keyring's active pass key
(`gridgate.security.signed_passes`); the signed text is the QR the visitor shows. The table row carries
what a signature cannot: revocation and the use count. An owner manages the passes of the homes
they own today, whoever of the co-owners issued them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from gridgate.adapters.audit import AuditLog
from gridgate.adapters.pass_repository import PassRepository
from gridgate.clock import now as city_now
from gridgate.domain.model import VisitorPass
from gridgate.domain.policy import local_date, pass_window_problem
from gridgate.refusals import Conflict, Invalid, NotFound
from gridgate.residents.ownership import OwnerScope
from gridgate.security.keyring import Keyring
from gridgate.security.signed_passes import PassClaims, PassRejected, new_pass_id, sign_pass


def claims_of(visitor_pass: VisitorPass) -> PassClaims:
    return PassClaims(
        pass_id=visitor_pass.pass_id,
        estate_id=visitor_pass.estate_id,
        home_id=visitor_pass.home_id,
        valid_from=visitor_pass.valid_from,
        valid_until=visitor_pass.valid_until,
        key_id=visitor_pass.key_id,
        max_uses=visitor_pass.max_uses,
    )


class PassService:
    """Visitor passes of an owner's homes; it receives its repositories (built once by a composition root)."""

    def __init__(
        self,
        keyring: Keyring,
        *,
        passes: PassRepository,
        scope: OwnerScope,
        audit: AuditLog,
        city_timezone: str,
        clock: Callable[[], datetime] = city_now,
    ) -> None:
        self._keyring = keyring
        self._passes = passes
        self._scope = scope
        self._audit = audit
        self._clock = clock
        self._timezone = city_timezone

    def issue(
        self,
        owner_id: str,
        home_id: str,
        visitor_name: str,
        valid_from: datetime | None,
        validity_hours: float,
        max_uses: int | None,
        request_id: str | None,
    ) -> tuple[VisitorPass, str]:
        """A new pass and its signed QR text."""
        now = self._clock()
        home = self._scope.owned_home(owner_id, home_id, local_date(now, self._timezone))
        # whole seconds: the signed payload carries seconds, the table must agree with it
        start = (valid_from or now).replace(microsecond=0)
        problem = pass_window_problem(start, validity_hours, now)
        if problem:
            code, values = problem
            raise Invalid(code, **values)
        visitor_pass = VisitorPass(
            pass_id=new_pass_id(),
            estate_id=home.estate_id,
            home_id=home_id,
            issued_by=owner_id,
            visitor_name=visitor_name,
            valid_from=start,
            valid_until=start + timedelta(seconds=int(validity_hours * 3600)),
            key_id=self._keyring.active_signing_key_id,
            max_uses=max_uses,
        )
        text = sign_pass(claims_of(visitor_pass), self._keyring)
        self._passes.create(visitor_pass)
        self._audit.record(
            owner_id,
            "pass.issue",
            f"home#{home_id}",
            request_id=request_id,
            detail={
                "pass_id": visitor_pass.pass_id,
                "valid_from": visitor_pass.valid_from.isoformat(),
                "valid_until": visitor_pass.valid_until.isoformat(),
                "max_uses": max_uses,
                "key_id": visitor_pass.key_id,
            },
        )
        return visitor_pass, text

    def of_owner(self, owner_id: str, request_id: str | None) -> list[VisitorPass]:
        """The passes of every home the caller owns today, newest first."""
        homes = self._scope.homes_owned(owner_id, local_date(self._clock(), self._timezone))
        passes = [p for home in homes for p in self._passes.of_home(home.home_id)]
        self._audit_read(owner_id, f"person#{owner_id}", passes, request_id)
        return sorted(passes, key=lambda p: p.valid_from, reverse=True)

    def of_home(
        self, owner_id: str, home_id: str, request_id: str | None, *, limit: int, start: dict | None = None
    ) -> tuple[list[VisitorPass], dict | None]:
        """One page of the home's passes, newest first, and the key the next page starts after.

        Only the page is read and decrypted, so only the page is logged as read.
        """
        self._scope.owned_home(owner_id, home_id, local_date(self._clock(), self._timezone))
        passes, next_start = self._passes.page_of_home(home_id, limit, start)
        self._audit_read(owner_id, f"home#{home_id}", passes, request_id)
        return passes, next_start

    def _audit_read(self, owner_id: str, subject: str, passes: list[VisitorPass], request_id: str | None) -> None:
        """Visitor names are personal data: a listing that decrypts them is a read to log."""
        if passes:
            detail = {"pass_ids": [p.pass_id for p in passes]}
            self._audit.record(owner_id, "pass.read", subject, request_id=request_id, detail=detail)

    def owned_pass(self, owner_id: str, pass_id: str) -> VisitorPass:
        """A pass of a home the caller owns: `NotFound` unknown_pass, `NotAllowed` not_owner."""
        visitor_pass = self._passes.get(pass_id)
        if visitor_pass is None:
            raise NotFound("unknown_pass")
        self._scope.owned_home(owner_id, visitor_pass.home_id, local_date(self._clock(), self._timezone))
        return visitor_pass

    def qr_text(self, owner_id: str, pass_id: str) -> str:
        """The pass's QR text again (Ed25519 is deterministic: the very text first issued)."""
        return sign_pass(claims_of(self.owned_pass(owner_id, pass_id)), self._keyring)

    def revoke(self, owner_id: str, pass_id: str, request_id: str | None) -> VisitorPass:
        self.owned_pass(owner_id, pass_id)
        try:
            revoked = self._passes.revoke(pass_id, self._clock())
        except PassRejected:
            raise Conflict("pass_not_active") from None
        self._audit.record(
            owner_id,
            "pass.revoke",
            f"home#{revoked.home_id}",
            request_id=request_id,
            detail={"pass_id": pass_id},
        )
        return revoked
