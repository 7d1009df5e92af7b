"""The city policy rules, pure: the cap from floor area and the grant/pass date rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gridgate.domain.policy import (
    GrantCapPolicy,
    grant_dates_problem,
    local_date,
    pass_window_problem,
)


@pytest.mark.parametrize("area, cap", [(0, 1), (9.9, 1), (12, 1), (20, 2), (35, 3), (90, 9), (250, 10)])
def test_default_cap_from_floor_area(area, cap):
    assert GrantCapPolicy().cap_for(area) == cap


def test_cap_follows_a_different_city_setting():
    assert GrantCapPolicy(area_per_person_m2=15, minimum=0, maximum=4).cap_for(14) == 0
    assert GrantCapPolicy(area_per_person_m2=15, minimum=0, maximum=4).cap_for(100) == 4


def test_local_date_is_the_city_date():
    assert local_date(datetime(2026, 11, 24, 16, 0, tzinfo=UTC), "Asia/Shanghai") == date(2026, 11, 25)


def test_grant_and_pass_date_rules():
    today = date(2026, 11, 24)
    assert grant_dates_problem(today, None, today) is None
    assert grant_dates_problem(today, today, today) is None
    assert grant_dates_problem(today - timedelta(days=1), None, today)
    now = datetime(2026, 11, 24, 8, tzinfo=UTC)
    assert pass_window_problem(now, 24, now) is None
    assert pass_window_problem(now - timedelta(minutes=4), 1, now) is None  # the form took a while
    assert pass_window_problem(now, 24.001, now)[0] == "validity_too_long"
