"""What an epidemic flow query may ask (paper §3.3.1), as plain records and bounds.

A public-health officer never queries the gate logs at large: each use rests on a
`FlowQueryApproval` recorded beforehand (who approved it, for which case and purpose, for which
estates and grids, which people may be traced, which time window, until when, and whether its
results may be exported). The bounds below keep a single query small and proportionate.

Pure data: the checks that refuse a bad approval or a query outside one live in
`gridgate.public_health.approval_rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: ±N minutes around a person's passage within which others at the same gate are co-passers.
MAX_CO_PASSAGE_MINUTES = 30
#: The longest time window one query may cover (an incubation period).
MAX_QUERY_DAYS = 14
#: The longest time window an approval may open, and how long an approval may stay usable.
MAX_APPROVAL_WINDOW_DAYS = 28
MAX_APPROVAL_VALIDITY_DAYS = 30


@dataclass(frozen=True)
class FlowQueryApproval:
    approval_id: str
    #: the public-health officer (token subject) who may use it, and nobody else
    granted_to: str
    approved_by: str
    case_ref: str
    purpose: str
    estates: frozenset[str]
    grids: frozenset[str]
    #: the people whose own movements may be traced (the case's index persons)
    persons: frozenset[str]
    window_from: datetime
    window_to: datetime
    expires_at: datetime
    export_allowed: bool
    approved_at: datetime

    def usable(self, at: datetime) -> bool:
        return self.approved_at <= at < self.expires_at
