"""What reconciliation does about two of its findings, instead of sending someone to the door.

- A grant given by someone who no longer owns the home: revoked through the grant repository
  (so the home's cap slot is released exactly once), the estate's gallery version bumped (so
  gates drop the face), and the current owners told — a notification record in the audit log
  under each owner, which the app shows them. With no current owner on record, the former
  owner who gave the grant is told instead.
- A visitor pass past its window still marked active: marked expired.

Each action closes its finding once done. Both are safe to repeat: a grant already revoked or a
pass no longer active is left alone and its finding still closed. A grant or pass the table does
not have (a city seeded only as snapshots) is counted as missing and its finding left open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from gridgate.adapters.audit import AuditLog
from gridgate.adapters.findings import FindingRepository
from gridgate.adapters.grant_repository import GrantNotActive, GrantRepository
from gridgate.adapters.pass_expiry import Expiry, expire_pass
from gridgate.adapters.repositories import PlaceRepository
from gridgate.residents.estate_changes import estate_changed

#: Audit action of the message an owner receives in the app.
NOTIFY_GRANT_REVOKED = "notify.grant_revoked_former_owner"


@dataclass(frozen=True)
class ActionCounts:
    applied: int = 0
    already_done: int = 0
    missing: int = 0
    findings_closed: int = 0


class ReconciliationActions:
    def __init__(
        self,
        actor: str,
        grants: GrantRepository | None = None,
        places: PlaceRepository | None = None,
        findings: FindingRepository | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self._actor = actor
        self._grants = grants or GrantRepository()
        self._places = places or PlaceRepository()
        self._findings = findings or FindingRepository()
        self._audit = audit or AuditLog()

    def revoke_grants_of_former_owners(self, rows: Iterable[dict], at: datetime) -> ActionCounts:
        """`rows`: grant_id, home_id, estate_id, grantee_id, granted_by, notify (owner ids), finding_id."""
        applied = already = missing = closed = 0
        for row in rows:
            try:
                self._grants.revoke(row["home_id"], row["grant_id"], at)
            except GrantNotActive:
                if self._grants.get(row["home_id"], row["grant_id"]) is None:
                    missing += 1
                    continue
                already += 1
            else:
                applied += 1
                estate_changed(row["estate_id"], [row["grantee_id"]], self._places)
                self._audit.record(
                    self._actor,
                    "grant.revoke",
                    f"home#{row['home_id']}",
                    detail={
                        "grant_id": row["grant_id"],
                        "grantee_id": row["grantee_id"],
                        "reason": "granted by someone who no longer owns the home",
                        "granted_by": row["granted_by"],
                        "finding_id": row["finding_id"],
                    },
                )
                for person_id in row["notify"] or [row["granted_by"]]:
                    self._audit.record(
                        self._actor,
                        NOTIFY_GRANT_REVOKED,
                        f"person#{person_id}",
                        detail={
                            "message": f"The access grant of {row['grantee_id']} to home {row['home_id']} was revoked: "
                            f"it was given by {row['granted_by']}, who no longer owns the home. "
                            "Grant it again in the app if they should keep access.",
                            "grant_id": row["grant_id"],
                            "home_id": row["home_id"],
                            "grantee_id": row["grantee_id"],
                        },
                    )
            closed += self._findings.close(row["finding_id"])
        return ActionCounts(applied, already, missing, closed)

    def expire_passes(self, rows: Iterable[dict], at: datetime) -> ActionCounts:
        """`rows`: pass_id, finding_id."""
        counts = {outcome: 0 for outcome in Expiry}
        closed = 0
        for row in rows:
            outcome = expire_pass(row["pass_id"], at)
            counts[outcome] += 1
            if outcome != Expiry.MISSING:
                closed += self._findings.close(row["finding_id"])
        return ActionCounts(counts[Expiry.EXPIRED], counts[Expiry.NOT_ACTIVE], counts[Expiry.MISSING], closed)
