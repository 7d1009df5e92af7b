"""The city's clock: the one place that reads the time, and says what "today" is in the city.

Every service, flow, blueprint, the CLI, the demo and the synthetic city take "now" and "the
city's today" from here (or from a `CityClock` injected into them), so that

- business dates are the city's civil dates (Asia/Shanghai by default, `GRIDGATE_CITY_TIMEZONE`),
  never the UTC date of the machine: 02:30 in Nanjing is still "yesterday" in UTC;
- a test pins one instant (`pinned`) and every part of the system agrees on it.

Instants are timezone-aware UTC `datetime`s; dates are city-local `date`s. `docs/time.md` lists
which value is which and how the UTC-day event partitions relate to local days.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from gridgate.domain.policy import local_date


def system_now() -> datetime:
    """The machine's clock as an aware UTC instant: the only direct read of the time."""
    return datetime.now(UTC)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class CityClock:
    """ "Now" and the city's civil calendar. `source` is swapped in tests; the zone is the city's."""

    timezone: str = "Asia/Shanghai"
    source: Callable[[], datetime] = field(default=system_now, compare=False)

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    def now(self) -> datetime:
        """The current instant, in UTC."""
        return self.source().astimezone(UTC)

    def today(self) -> date:
        """The city's civil date now (a local day ends at local midnight, not at 08:00 Beijing time)."""
        return self.local_date(self.now())

    def yesterday(self) -> date:
        """The last whole local day: what a nightly run reports on."""
        return self.today() - timedelta(days=1)

    def local_date(self, at: datetime) -> date:
        """The city's civil date at instant `at` (the domain's own rule, `policy.local_date`)."""
        return local_date(at, self.timezone)

    def local_midnight(self, day: date) -> datetime:
        """The UTC instant local day `day` begins."""
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(UTC)

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """[start, end) of local day `day`, as UTC instants."""
        return self.local_midnight(day), self.local_midnight(day + timedelta(days=1))

    def local_time(self, at: datetime) -> datetime:
        """Instant `at` on the city's wall clock (for people: pages, sheets, reports)."""
        return at.astimezone(self.zone)

    def epoch_seconds(self) -> int:
        """Now, as whole Unix seconds (device signatures, token times)."""
        return int(self.now().timestamp())


_pinned: list[Callable[[], datetime]] = []


def _current_source() -> datetime:
    return _pinned[-1]() if _pinned else system_now()


def city_clock(timezone_name: str | None = None) -> CityClock:
    """The process's clock in the city's zone (from settings unless given); follows `pinned`."""
    if timezone_name is None:
        from gridgate.config import get_settings

        timezone_name = get_settings().city_timezone
    return CityClock(timezone_name, _current_source)


def now() -> datetime:
    """The current UTC instant of the process's clock."""
    return _current_source().astimezone(UTC)


def today() -> date:
    """The city's civil date now."""
    return city_clock().today()


@contextmanager
def pinned(at: datetime | Callable[[], datetime]) -> Iterator[CityClock]:
    """Pin the process's clock to an instant (or a function of the real time) inside the block.

    Tests use it to run at a chosen instant, e.g. 15:59 UTC on 12-31 (23:59 in Nanjing).
    """
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError("pin an aware instant, not a naive datetime")
        instant = at
        source: Callable[[], datetime] = lambda: instant  # noqa: E731
    else:
        source = at
    _pinned.append(source)
    try:
        yield city_clock()
    finally:
        _pinned.pop()


def running_from(instant: datetime) -> Callable[[], datetime]:
    """A clock source that reads `instant` now and runs at real speed from there (for whole
    scenarios: signed requests, token lifetimes and TTLs keep moving forward)."""
    offset = instant - system_now()
    return lambda: system_now() + offset
