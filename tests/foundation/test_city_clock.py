"""One city clock: local days in Asia/Shanghai, whatever the machine's date and hour.

The instants below straddle the UTC / Asia-Shanghai date boundary (16:00 UTC), a month end and
a year end; the synthetic city's planted cases are checked at 40 consecutive dates.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from gridgate import clock, i18n
from gridgate.clock import CityClock
from gridgate.domain.policy import report_day_problem
from gridgate.refusals import Invalid

PROJECT = Path(__file__).resolve().parents[2]

#: (UTC instant, the city's date then): either side of local midnight, at a month and a year end.
BOUNDARIES = [
    (datetime(2026, 11, 30, 15, 59, tzinfo=UTC), date(2026, 11, 30)),
    (datetime(2026, 11, 30, 16, 1, tzinfo=UTC), date(2026, 12, 1)),
    (datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC), date(2026, 12, 31)),  # 23:59:59 local
    (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), date(2027, 1, 1)),
    (datetime(2027, 2, 28, 23, 30, tzinfo=UTC), date(2027, 3, 1)),
]


@pytest.mark.parametrize("instant, local_day", BOUNDARIES)
def test_the_city_date_is_the_local_one(instant, local_day):
    city = CityClock("Asia/Shanghai", lambda: instant)
    assert city.today() == local_day
    assert city.yesterday() == local_day - timedelta(days=1)
    start, end = city.day_bounds(local_day)
    assert start <= instant < end and end - start == timedelta(days=1)
    assert start.utcoffset() == timedelta(0) and start.hour == 16  # local midnight is 16:00 UTC


@pytest.mark.parametrize("instant, local_day", BOUNDARIES)
def test_pinning_reaches_every_reader(instant, local_day):
    from flows.city_data import default_day, local_today

    with clock.pinned(instant):
        assert clock.now() == instant and clock.today() == local_day
        assert local_today() == local_day and default_day() == local_day - timedelta(days=1)
    assert clock.now() != instant


def test_no_other_module_reads_the_system_clock():
    """Only gridgate/clock.py may call datetime.now, date.today or time.time (tests included)."""
    reads = re.compile(r"datetime\.now\(|datetime\.utcnow\(|date\.today\(|time\.time\(\)|\butcnow\b")
    found = []
    for folder in ("layers", "functions", "flows", "local_emulator", "bench", "infra", "tests"):
        for path in (PROJECT / folder).rglob("*.py"):
            if path == PROJECT / "layers/gridgate/clock.py" or path == Path(__file__):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if reads.search(line):
                    found.append(f"{path.relative_to(PROJECT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "day, problem",
    [
        (date(2026, 12, 31), None),  # yesterday: a whole local day
        (date(2027, 1, 1), "day_not_ended"),  # today
        (date(2027, 1, 2), "day_not_ended"),  # a future day
        (date(2026, 7, 5), None),  # the oldest day kept (180 days)
        (date(2026, 7, 4), "day_past_retention"),
    ],
)
def test_only_whole_kept_days_can_be_reported_on(day, problem):
    said = report_day_problem(day, date(2027, 1, 1), 180)
    if problem is None:
        assert said is None
    else:
        assert said is not None and said["reason"] == problem and said["day"] == day.isoformat()
        words = i18n.refusal_text(Invalid("bad_day", **said))  # what staff read: Chinese first
        assert day.isoformat() in words and re.search(r"[\u4e00-\u9fff]", words), words
        assert day.isoformat() in i18n.refusal_text(Invalid("bad_day", **said), "en")


@pytest.mark.parametrize("offset_days", range(40))
def test_the_synthetic_citys_planted_cases_hold_on_any_date(offset_days):
    """At 23:59:30 local on 40 consecutive dates (crossing a month and a year end), the city the
    clock builds has every planted case, and its history is whole local days before today."""
    import pyarrow as pa

    from local_emulator import city_tables
    from local_emulator.synthetic_city import build_city

    instant = datetime(2026, 12, 5, 15, 59, 30, tzinfo=UTC) + timedelta(days=offset_days)
    with clock.pinned(instant):
        city = build_city(600, seed=3, history_days=2)
    assert city.today == clock.CityClock("Asia/Shanghai", lambda: instant).today()
    assert city.now == clock.CityClock("Asia/Shanghai").local_midnight(city.today) <= instant
    events = pa.concat_tables([city_tables.events_table(city, d) for d in city.event_days])
    times = events["occurred_at"].to_pylist()
    assert times and max(times) < city.now and min(times) >= clock.CityClock().local_midnight(city.history[0])
    seen = set(events["person_id"].drop_null().to_pylist())
    truth = city.truth
    assert all(truth[kind] for kind in truth), {k: len(v) for k, v in truth.items()}
    assert not seen & (set(truth["elderly_not_leaving"]) | set(truth["moved_out"]))
    on_pass = [r["person_id"] for r in events.to_pylist() if r["method"] == "visitor_pass" and r["direction"] == "in"]
    assert all(on_pass.count(p) == len(city.history) for p in truth["pass_regulars"])


def test_a_nightly_run_for_a_day_that_has_not_ended_is_refused_before_it_starts():
    from flows.city_data import BadReportDay
    from flows.run_all import run_nightly

    at = datetime(2026, 12, 31, 16, 1, tzinfo=UTC)  # 00:01 on 01-01 in Nanjing
    with clock.pinned(at):
        for day in (date(2027, 1, 1), date(2027, 2, 1)):
            with pytest.raises(BadReportDay, match="尚未结束"):
                run_nightly(day=day)
