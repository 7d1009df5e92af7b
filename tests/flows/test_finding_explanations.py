"""Findings read in the reader's language: the flows' real findings (on a hand-built city) render
the catalogue's sentence from their evidence, in Chinese by default and in English, with the
city's local times; an old finding without the evidence keeps the flow's English sentence."""

from __future__ import annotations

import json
from datetime import date, timedelta

import polars as pl
import pytest
from tiny_city import TinyCity, approved, days_before, local

from gridgate.analytics.key_group_alerts import ALERT_TYPES, AlertPolicy, AlertType, key_group_alerts
from gridgate.analytics.reconciliation_checks import FINDING_TYPES, FindingType, ReconciliationPolicy, reconcile
from gridgate.data_center.finding_explanations import explain
from gridgate.i18n import LOCALES, catalogue, translator

DAY = date(2026, 11, 20)
WEEK = days_before(DAY, 7)


def _reason(finding: dict, locale: str | None = None) -> str:
    evidence = {**json.loads(finding["evidence"]), "explanation": finding["explanation"]}
    return explain(finding["finding_type"], evidence, translator(locale))


def _one(frame: pl.DataFrame, kind: str, person: str | None = None) -> dict:
    rows = frame.filter(pl.col("finding_type") == kind)
    if person:
        rows = rows.filter(pl.col("person_id") == person)
    [row] = rows.to_dicts()
    return row


@pytest.mark.parametrize("locale", LOCALES)
def test_every_finding_type_has_a_sentence_in_both_catalogues(locale):
    for kind in (*FINDING_TYPES, *ALERT_TYPES):
        assert f"explain.{kind}" in catalogue(locale), kind


def test_reconciliation_findings_read_in_chinese_and_english():
    c = TinyCity()
    c.home("H1", "E1", area=60.0)
    c.person("OWNER", home="H1")
    c.own("OWNER", "H1")
    c.daily_trips("OWNER", "H1", WEEK)
    c.home("H4", "E1", room="104", area=22.0)  # cap 2
    c.person("LANDLORD")
    c.own("LANDLORD", "H4")
    for n in range(3):
        c.grant(f"GR-4-{n}", "H4", f"T{n}", by="LANDLORD", relation="tenant")
    c.person("GONE", home="H1")  # registered, passes no gate
    c.home("H9", "E2")
    c.person("MOVED", home="H1")  # seen only at another estate
    c.daily_trips("MOVED", "H9", WEEK[-2:])
    found = reconcile(c.frames(DAY, WEEK[0]), ReconciliationPolicy()).findings

    over_cap = _one(found, FindingType.GRANTS_OVER_CAP)
    assert _reason(over_cap) == "本户有 3 项有效授权，但按面积上限为 2 项：可能存在群租。"
    assert (
        _reason(over_cap, "en")
        == "This home has 3 grants in force but its cap (from the floor area) is 2: group renting?"
    )
    assert (
        _reason(_one(found, FindingType.RESIDENT_NOT_SEEN, "GONE"))
        == "登记住在本户，但已连续 7 天未经过任何门禁：可能已搬离。"
    )
    moved = _reason(_one(found, FindingType.RESIDENT_NOT_SEEN, "MOVED"))
    assert moved.startswith("登记住在本户，但已连续 7 天未经过本小区门禁；最近一次出现在其他小区 E2（2026-11-")
    assert "（北京时间）" in moved  # the instant as the city's wall clock, labelled


def test_key_group_alerts_read_in_chinese_with_local_times():
    c = TinyCity()
    c.home("H1", "E1")
    c.person("GRAN", home="H1", birth_year=1940, key_groups=("elderly_alone",))
    c.own("GRAN", "H1")
    c.passage(local(DAY - timedelta(days=4), 9), "GRAN", "E1", "out", home_id="H1")
    c.passage(local(DAY - timedelta(days=4), 11), "GRAN", "E1", "in", home_id="H1")
    c.home("H2", "E1", room="102")
    c.person("CC", home="H2", key_groups=("community_correction",))
    c.own("CC", "H2")
    c.daily_trips("CC", "H2", WEEK[:3])
    c.passage(local(WEEK[3], 8), "CC", "E1", "out", home_id="H2")  # left, never back
    tracked = approved("CC", starts=DAY - timedelta(days=10), ends=DAY)
    alerts = key_group_alerts(c.frames(DAY, DAY - timedelta(days=6)), AlertPolicy(), tracked)

    gran = _reason(_one(alerts, AlertType.LIVING_ALONE_NO_EXIT))
    assert (
        gran
        == "86 岁（独居老人），独自居住；最近一次外出是 2026-11-16 09:00（北京时间）（4 天前），超过 3 天：请上门探访。"
    )
    absent = _reason(_one(alerts, AlertType.CORRECTION_ABSENT), "en")
    assert absent == (
        "Under community correction: left through gate E1-G2 at 2026-11-17 08:00 (Beijing time, UTC+8) "
        "and has not come back for 88 h (limit 48 h): please check."
    )


def test_an_alert_with_no_exit_at_all_uses_the_never_sentence():
    c = TinyCity()
    c.home("H1", "E1")
    c.person("GRAN", home="H1", birth_year=1940, key_groups=("elderly_alone",))
    c.own("GRAN", "H1")
    [alert] = key_group_alerts(c.frames(DAY, DAY - timedelta(days=6)), AlertPolicy()).to_dicts()
    assert _reason(alert) == "86 岁（独居老人），独自居住；近 7 天没有外出记录，超过 3 天：请上门探访。"


def test_a_finding_stored_without_the_needed_evidence_keeps_the_flows_sentence():
    old = {"explanation": "home H1 has 5 grants in force but its cap is 3: group renting?"}
    assert explain("grants_over_cap", old, translator("zh_CN")) == old["explanation"]
    assert explain("a_type_added_later", {"explanation": "new"}, translator("zh_CN")) == "new"
