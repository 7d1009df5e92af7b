"""City policy for access rights: how many people a home may grant, how long passes and grants run.

The per-home grant cap follows the rental rule that a home may not house more people than its
floor area allows: national rules (MOHURD Order No. 6, 2010, art. 8) delegate the minimum
per-person area to each city, so the numbers are settings, not constants. `docs/policy.md` states
the default rule, where its number comes from, and what a city must check before going live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

#: Visitor passes: the paper fixes 24 hours (§3.1.2); an owner may ask for less, never more.
MAX_PASS_VALIDITY = timedelta(hours=24)
#: Visitor passes may be issued ahead of the visit, but not indefinitely.
MAX_PASS_ADVANCE = timedelta(days=30)
#: A pass may start a little in the past (the phone's clock, the time it took to fill in the form).
PASS_START_TOLERANCE = timedelta(minutes=5)
#: Largest use limit an owner may set on one pass.
MAX_PASS_USES = 100
#: Grants may be set up ahead of a move-in, but not years ahead.
MAX_GRANT_ADVANCE = timedelta(days=366)


@dataclass(frozen=True)
class GrantCapPolicy:
    """Cap = floor(floor area / area per person), clamped to [minimum, maximum]."""

    area_per_person_m2: float = 10.0
    minimum: int = 1
    maximum: int = 10

    def cap_for(self, floor_area_m2: float) -> int:
        by_area = math.floor(max(floor_area_m2, 0.0) / self.area_per_person_m2)
        return max(self.minimum, min(self.maximum, by_area))


def local_date(at: datetime, timezone: str) -> date:
    """The city's civil date at an instant: grant dates are local dates (a grant ending on the 3rd
    ends at local midnight, not at 08:00 Beijing time)."""
    return at.astimezone(ZoneInfo(timezone)).date()


def grant_dates_problem(starts_on: date, ends_on: date | None, today: date) -> str | None:
    """Why a grant's dates are unacceptable, as the reason of a ``bad_dates`` refusal, or None:
    no start in the past, end not before start, start at most a year ahead."""
    if starts_on < today:
        return "grant_starts_in_past"
    if ends_on is not None and ends_on < starts_on:
        return "grant_ends_before_start"
    if starts_on > today + MAX_GRANT_ADVANCE:
        return "grant_starts_too_far"
    return None


#: Long enough for a visitor to walk from the street to the gate; anything shorter is a typo or a probe.
MIN_PASS_VALIDITY = timedelta(minutes=10)


def report_day_problem(day: date, today: date, retention_days: int) -> dict[str, object] | None:
    """Why `day` cannot be reported on (statistics, alerts, reconciliation, task sheets), as the
    members of a ``bad_day`` refusal (``reason`` and the days that explain it), or None.

    Only whole local days can: today has not ended (its "no exit for 7 days" would be false for
    everyone still out), a future day has no events at all, and a day past the event retention
    window has lost its events. The words are the catalogue's ``error.bad_day.<reason>``.
    """
    latest, oldest = today - timedelta(days=1), today - timedelta(days=retention_days)
    days = {"day": day.isoformat(), "latest": latest.isoformat(), "oldest": oldest.isoformat()}
    if day > latest:
        return {"reason": "day_not_ended", **days, "today": today.isoformat()}
    if day < oldest:
        return {"reason": "day_past_retention", **days, "retention_days": retention_days}
    return None


def pass_window_problem(
    valid_from: datetime, validity_hours: float, now: datetime
) -> tuple[str, dict[str, object]] | None:
    """(code, members) of the refusal of a visitor-pass window, or None."""
    if not validity_hours > 0:
        return "bad_dates", {"reason": "pass_without_time"}
    if validity_hours * 3600 < MIN_PASS_VALIDITY.total_seconds():
        # 1e-300 hours is "more than 0" and made a pass that no gate could ever accept
        return "validity_too_short", {"minutes": MIN_PASS_VALIDITY.seconds // 60}
    if validity_hours * 3600 > MAX_PASS_VALIDITY.total_seconds():
        return "validity_too_long", {"hours": int(MAX_PASS_VALIDITY.total_seconds() // 3600)}
    if valid_from < now - PASS_START_TOLERANCE:
        return "bad_dates", {"reason": "pass_starts_in_past"}
    if valid_from > now + MAX_PASS_ADVANCE:
        return "bad_dates", {"reason": "pass_starts_too_far", "days": MAX_PASS_ADVANCE.days}
    return None
