"""Key-group alerts on a hand-built city: each alert, its explanation, its thresholds, its episode."""

from __future__ import annotations

import json
from datetime import date, timedelta

import polars as pl
from tiny_city import TinyCity, approved, days_before, local

from gridgate.analytics.key_group_alerts import AlertPolicy, AlertType, key_group_alerts

DAY = date(2026, 11, 20)
WEEK = days_before(DAY, 7)


#: The correction person's tracking, approved for the month around DAY.
APPROVAL = approved("CC", starts=DAY - timedelta(days=20), ends=DAY + timedelta(days=10))


def alerts(
    c: TinyCity, policy: AlertPolicy = AlertPolicy(), kind: str | None = None, day: date = DAY, approvals=APPROVAL
) -> list[dict]:
    found = key_group_alerts(c.frames(day, day - timedelta(days=6)), policy, approvals)
    return found.filter(pl.col("finding_type") == kind).to_dicts() if kind else found.to_dicts()


def elderly_city() -> TinyCity:
    c = TinyCity()
    c.home("H1", "E1")
    c.person("GRAN", home="H1", birth_year=1940, key_groups=("elderly_alone",))
    c.own("GRAN", "H1")
    return c


def test_elderly_resident_alone_without_exit_for_n_days():
    c = elderly_city()
    c.passage(local(DAY - timedelta(days=4), 9), "GRAN", "E1", "out", home_id="H1")
    c.passage(local(DAY - timedelta(days=4), 11), "GRAN", "E1", "in", home_id="H1")
    [alert] = alerts(c, kind=AlertType.LIVING_ALONE_NO_EXIT)
    assert (alert["person_id"], alert["home_id"], alert["severity"]) == ("GRAN", "H1", "high")
    evidence = json.loads(alert["evidence"])
    assert evidence["days_without_exit"] == 4 and evidence["limit_days"] == 3
    assert "last seen leaving on 2026-11-16" in alert["explanation"] and "lives alone" in alert["explanation"]


def test_threshold_is_configurable_and_an_exit_within_it_is_fine():
    c = elderly_city()
    c.passage(local(DAY - timedelta(days=4), 9), "GRAN", "E1", "out", home_id="H1")
    assert alerts(c, AlertPolicy(no_exit_days=5)) == []
    c.passage(local(DAY - timedelta(days=1), 9), "GRAN", "E1", "out", home_id="H1")
    assert alerts(c) == []


def test_no_exit_in_the_whole_window_is_an_alert_too():
    [alert] = alerts(elderly_city(), kind=AlertType.LIVING_ALONE_NO_EXIT)
    assert "has no recorded exit in the last 7 days" in alert["explanation"]


def test_disabled_resident_alerts_only_when_living_alone():
    c = TinyCity()
    c.home("H1", "E1")
    c.home("H2", "E1", room="102")
    c.person("ALONE", home="H1", key_groups=("disabled",))
    c.person("CARED", home="H2", key_groups=("disabled",))
    c.person("CARER", home="H2")
    assert [a["person_id"] for a in alerts(c)] == ["ALONE"]


def test_same_episode_is_the_same_alert_and_a_new_one_is_new():
    c = elderly_city()
    c.passage(local(DAY - timedelta(days=5), 9), "GRAN", "E1", "out", home_id="H1")
    today = alerts(c, kind=AlertType.LIVING_ALONE_NO_EXIT)
    tomorrow = alerts(c, kind=AlertType.LIVING_ALONE_NO_EXIT, day=DAY + timedelta(days=1))
    assert [a["finding_id"] for a in today] == [a["finding_id"] for a in tomorrow]
    c.passage(local(DAY - timedelta(days=4), 9), "GRAN", "E1", "out", home_id="H1")  # a later last exit
    assert alerts(c, kind=AlertType.LIVING_ALONE_NO_EXIT)[0]["finding_id"] != today[0]["finding_id"]


def correction_city() -> TinyCity:
    c = TinyCity()
    c.home("H1", "E1")
    c.person("CC", home="H1", key_groups=("community_correction",))
    c.own("CC", "H1")
    return c


def test_community_correction_passing_at_unusual_hours():
    c = correction_city()
    c.daily_trips("CC", "H1", WEEK)
    c.passage(local(DAY, 2, 15), "CC", "E1", "out", home_id="H1")
    c.passage(local(DAY, 3, 5), "CC", "E1", "in", home_id="H1")
    [alert] = alerts(c)
    assert alert["finding_type"] == AlertType.CORRECTION_UNUSUAL_HOURS
    evidence = json.loads(alert["evidence"])
    assert evidence["passages_count"] == 2 and evidence["local_date"] == "2026-11-20"
    assert evidence["passages"][0].startswith("2026-11-20 02:15 out")
    # with the unusual period ending at 02:00, 02:15 and 03:05 are ordinary hours
    assert alerts(c, AlertPolicy(unusual_hours_start=23, unusual_hours_end=2)) == []


def test_community_correction_absent_beyond_the_limit():
    c = correction_city()
    c.daily_trips("CC", "H1", WEEK[:3])
    c.passage(local(WEEK[3], 8), "CC", "E1", "out", home_id="H1")  # left 4 days ago, never back
    [alert] = alerts(c)
    assert alert["finding_type"] == AlertType.CORRECTION_ABSENT
    assert json.loads(alert["evidence"])["hours_absent"] > 48
    assert "has not come back" in alert["explanation"]
    assert alerts(c, AlertPolicy(absence_limit_hours=24 * 5)) == []


def test_community_correction_back_home_is_fine():
    c = correction_city()
    c.daily_trips("CC", "H1", WEEK)
    assert alerts(c) == []


def night_mover() -> TinyCity:
    c = correction_city()
    c.daily_trips("CC", "H1", WEEK)
    c.passage(local(DAY, 2, 15), "CC", "E1", "out", home_id="H1")
    return c


def test_no_correction_alert_without_an_approval_and_none_after_it_ends():
    c = night_mover()
    assert alerts(c, approvals=()) == []
    ended = approved("CC", starts=DAY - timedelta(days=40), ends=DAY - timedelta(days=1))
    assert alerts(c, approvals=ended) == []
    later = approved("CC", starts=DAY + timedelta(days=1), ends=DAY + timedelta(days=30))
    assert alerts(c, approvals=later) == []
    other = approved("SOMEONE_ELSE", starts=DAY, ends=DAY)
    assert alerts(c, approvals=other) == []


def test_an_approved_alert_names_its_case_and_a_renewal_keeps_it_running():
    c = night_mover()
    [alert] = alerts(c)
    evidence = json.loads(alert["evidence"])
    assert evidence["approval_case"] == "case-CC"
    assert evidence["approval_ends"] == (DAY + timedelta(days=10)).isoformat()
    first = approved("CC", starts=DAY - timedelta(days=60), ends=DAY - timedelta(days=1))
    renewal = approved("CC", starts=DAY, ends=DAY + timedelta(days=80))
    [renewed] = alerts(c, approvals=first + renewal)
    assert json.loads(renewed["evidence"])["approval_ends"] == (DAY + timedelta(days=80)).isoformat()


def test_welfare_alerts_need_no_approval():
    c = elderly_city()
    assert [a["finding_type"] for a in alerts(c, approvals=())] == [AlertType.LIVING_ALONE_NO_EXIT]
