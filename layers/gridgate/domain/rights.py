"""Rights to enter an estate: the derived owner right and the granted family/tenant rights.

A right is a conclusion, never stored as such: an owner's right is read off the property
records, a family member's or tenant's off an effective grant. When one person holds several
rights at an estate, the gate reports the strongest (owner over family over tenant), so the
explanation of a decision names the right least likely to be withdrawn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from gridgate.domain.model import Grant, GrantStatus, Ownership, PassStatus, VisitorPass

OWNER, FAMILY, TENANT = "owner", "family", "tenant"
#: Strongest first.
RIGHT_KINDS: tuple[str, ...] = (OWNER, FAMILY, TENANT)


@dataclass(frozen=True)
class Right:
    """Why a person may enter an estate: `kind` for `home_id`, via `grant_id` (None for owners)."""

    kind: str
    home_id: str
    grant_id: str | None = None


def owner_right(ownership: Ownership) -> Right:
    return Right(OWNER, ownership.home_id)


def granted_right(grant: Grant) -> Right:
    return Right(grant.relation.value, grant.home_id, grant.grant_id)


def strongest(rights: Iterable[Right]) -> Right | None:
    """The right to report among several; ties go to the lowest home id, so the answer is stable."""
    return min(rights, key=lambda r: (RIGHT_KINDS.index(r.kind), r.home_id), default=None)


def grant_status_on(grant: Grant, today: date) -> GrantStatus:
    """What a grant is on a local day: an active grant past its last day is expired, marked or not."""
    if grant.status == GrantStatus.ACTIVE and grant.ends_on is not None and grant.ends_on < today:
        return GrantStatus.EXPIRED
    return grant.status


def pass_status_at(visitor_pass: VisitorPass, now: datetime) -> PassStatus:
    """What a pass is at an instant: revoked, expired and used up follow from its facts."""
    if visitor_pass.status != PassStatus.ACTIVE:
        return visitor_pass.status
    if now >= visitor_pass.valid_until:
        return PassStatus.EXPIRED
    if visitor_pass.max_uses is not None and visitor_pass.uses >= visitor_pass.max_uses:
        return PassStatus.USED_UP
    return PassStatus.ACTIVE
