"""Each reconciliation check on a hand-built city: it finds its case, and leaves normal life alone."""

from __future__ import annotations

import json
from datetime import date, timedelta

import polars as pl
import pytest
from tiny_city import TinyCity, days_before, local

from gridgate.analytics.reconciliation_checks import (
    FindingType,
    ReconciliationPolicy,
    reconcile,
)

DAY = date(2026, 11, 20)
WEEK = days_before(DAY, 7)
POLICY = ReconciliationPolicy(
    resident_unseen_days=7,
    visitor_pass_window_days=7,
    visitor_pass_min_days=3,
    group_rent_window_days=7,
    group_rent_min_days=2,
    group_rent_excess=2,
)


@pytest.fixture
def city() -> TinyCity:
    """An ordinary household: an owner and a granted family member, both seen every day."""
    c = TinyCity()
    c.home("H1", "E1", area=60.0)
    c.person("OWNER", home="H1")
    c.person("KID", home="H1")
    c.own("OWNER", "H1")
    c.grant("GR-KID", "H1", "KID", by="OWNER")
    c.daily_trips("OWNER", "H1", WEEK)
    c.daily_trips("KID", "H1", WEEK)
    return c


def findings_of(c: TinyCity, kind: str, policy: ReconciliationPolicy = POLICY) -> list[dict]:
    result = reconcile(c.frames(DAY, WEEK[0]), policy)
    return result.findings.filter(pl.col("finding_type") == kind).to_dicts()


def test_an_ordinary_household_raises_nothing(city):
    result = reconcile(city.frames(DAY, WEEK[0]), POLICY)
    assert result.findings.is_empty(), result.findings.to_dicts()
    assert result.grants_to_revoke.is_empty() and result.passes_to_expire.is_empty()
    assert result.skipped == []


def test_grantee_registered_elsewhere(city):
    city.home("H2", "E1", room="102")
    city.person("TENANT", home="H2")  # the registry says H2
    city.grant("GR-T", "H1", "TENANT", by="OWNER", relation="tenant")
    city.daily_trips("TENANT", "H1", WEEK)
    [finding] = findings_of(city, FindingType.GRANTEE_REGISTERED_ELSEWHERE)
    assert (finding["person_id"], finding["home_id"], finding["grid_id"]) == ("TENANT", "H1", "G1")
    assert json.loads(finding["evidence"])["registered_home_id"] == "H2"
    assert "registry has them at home H2" in finding["explanation"]
    assert finding["severity"] == "low"


def test_resident_not_seen_at_their_estate(city):
    city.person("GONE", home="H1")  # registered at H1, passes no gate any more
    city.home("H9", "E2")
    city.person("MOVED", home="H1")  # registered at H1, but seen only at another estate
    city.daily_trips("MOVED", "H9", WEEK[-2:])
    found = {f["person_id"]: f for f in findings_of(city, FindingType.RESIDENT_NOT_SEEN)}
    assert set(found) == {"GONE", "MOVED"}
    assert "not seen at any gate" in found["GONE"]["explanation"]
    assert json.loads(found["MOVED"]["evidence"])["last_seen_estate"] == "E2"


def test_resident_not_seen_needs_enough_history(city):
    city.person("GONE", home="H1")
    short = reconcile(city.frames(DAY, DAY - timedelta(days=2)), POLICY)
    assert short.findings.filter(pl.col("finding_type") == FindingType.RESIDENT_NOT_SEEN).is_empty()
    assert any(FindingType.RESIDENT_NOT_SEEN in reason for reason in short.skipped)


def test_elderly_alone_are_left_to_the_key_group_alerts(city):
    city.home("H3", "E1", room="103")
    city.person("GRAN", home="H3", birth_year=1940, key_groups=("elderly_alone",))
    assert findings_of(city, FindingType.RESIDENT_NOT_SEEN) == []


def test_someone_entering_on_visitor_passes_again_and_again(city):
    for n, day in enumerate(WEEK[-3:]):
        city.visitor_pass(f"V{n}", "H1", "OWNER", local(day, 7))
        city.passage(local(day, 19), "LODGER", "E1", "in", method="visitor_pass", pass_id=f"V{n}", right="visitor")
    # a one-off visitor does not count
    city.visitor_pass("V9", "H1", "OWNER", local(WEEK[0], 7))
    city.passage(local(WEEK[0], 15), "AUNT", "E1", "in", method="visitor_pass", pass_id="V9", right="visitor")
    [finding] = findings_of(city, FindingType.VISITOR_PASS_REGULAR)
    assert (finding["person_id"], finding["home_id"]) == ("LODGER", "H1")
    assert json.loads(finding["evidence"])["days_entered"] == 3


def test_home_with_more_grants_than_its_cap(city):
    city.home("H4", "E1", room="104", area=22.0)  # cap: floor(22 / 10) = 2
    city.person("LANDLORD")
    city.own("LANDLORD", "H4")
    for n in range(3):
        city.grant(f"GR-4-{n}", "H4", f"T{n}", by="LANDLORD", relation="tenant")
    [finding] = findings_of(city, FindingType.GRANTS_OVER_CAP)
    assert finding["home_id"] == "H4" and finding["severity"] == "high"
    assert json.loads(finding["evidence"])["grants"] == 3 and json.loads(finding["evidence"])["cap"] == 2


def test_home_more_faces_enter_for_than_it_has_grants(city):
    city.home("H5", "E1", room="105", area=120.0)
    city.person("LANDLORD")
    city.own("LANDLORD", "H5")
    city.grant("GR-5", "H5", "T0", by="LANDLORD", relation="tenant")
    for n in range(4):  # one granted tenant, three more people living there
        city.daily_trips(f"T{n}", "H5", WEEK[-3:])
    city.passage(local(WEEK[-1], 12), "FRIEND", "E1", "in", home_id="H5")  # once: a visit, not a resident
    [finding] = findings_of(city, FindingType.FACES_OVER_GRANTS)
    evidence = json.loads(finding["evidence"])
    assert finding["home_id"] == "H5"
    assert (evidence["faces"], evidence["grants"], evidence["people"]) == (4, 1, ["T0", "T1", "T2", "T3"])


def _group_rent_home(city: TinyCity) -> None:
    city.home("H5", "E1", room="105", area=120.0)
    city.person("LANDLORD")
    city.own("LANDLORD", "H5")


def test_group_renting_counts_the_citys_local_days(city):
    """07:30 and 09:30 in Nanjing are one local day on two UTC days; 23:30 and 00:30 the next
    morning are two local days on one UTC day: only the second counts as living there."""
    _group_rent_home(city)
    for n in range(3):
        city.passage(local(WEEK[-2], 7, 30), f"A{n}", "E1", "in", home_id="H5")
        city.passage(local(WEEK[-2], 9, 30), f"A{n}", "E1", "in", home_id="H5")
        city.passage(local(WEEK[-3], 23, 30), f"B{n}", "E1", "in", home_id="H5")
        city.passage(local(WEEK[-2], 0, 30), f"B{n}", "E1", "in", home_id="H5")
    [finding] = findings_of(city, FindingType.FACES_OVER_GRANTS)
    assert json.loads(finding["evidence"])["people"] == ["B0", "B1", "B2"]


def test_group_renting_over_a_window_longer_than_one_bitmask_word(city):
    """A 100-day window spans two words of day bits (62 days each): days in both are counted."""
    long_window = POLICY.model_copy(update={"group_rent_window_days": 100, "group_rent_min_days": 3})
    days = days_before(DAY, 100)
    _group_rent_home(city)
    for n in range(3):
        for day in (days[0], days[62], days[-1]):  # three days: one of word 0, two of word 1
            city.passage(local(day, 18), f"R{n}", "E1", "in", home_id="H5")
        for day in (days[62], days[63]):  # two days, both of word 1: not enough (and not in word 0)
            city.passage(local(day, 18), f"V{n}", "E1", "in", home_id="H5")
    result = reconcile(city.frames(DAY, days[0]), long_window)
    [finding] = result.findings.filter(pl.col("finding_type") == FindingType.FACES_OVER_GRANTS).to_dicts()
    assert json.loads(finding["evidence"])["people"] == ["R0", "R1", "R2"]


def test_grant_given_by_a_former_owner_is_to_be_revoked_and_the_owner_told(city):
    city.home("H6", "E1", room="106")
    city.person("SELLER")
    city.person("BUYER")
    city.own("SELLER", "H6", since=date(2010, 1, 1), until=DAY - timedelta(days=30))
    city.own("BUYER", "H6", since=DAY - timedelta(days=30))
    city.grant("GR-OLD", "H6", "OLD-TENANT", by="SELLER", relation="tenant")
    city.grant("GR-NEW", "H6", "NEW-TENANT", by="BUYER", relation="tenant")
    result = reconcile(city.frames(DAY, WEEK[0]), POLICY)
    [action] = result.grants_to_revoke.to_dicts()
    assert (action["grant_id"], action["granted_by"], action["notify"]) == ("GR-OLD", "SELLER", ["BUYER"])
    [finding] = result.findings.filter(pl.col("finding_type") == FindingType.GRANT_BY_FORMER_OWNER).to_dicts()
    assert action["finding_id"] == finding["finding_id"] and finding["subject"] == "grant#GR-OLD"


def test_expired_pass_still_marked_active(city):
    city.visitor_pass("V-STALE", "H1", "OWNER", local(DAY - timedelta(days=3), 9))
    city.visitor_pass("V-LIVE", "H1", "OWNER", local(DAY, 20))  # valid into tomorrow
    city.visitor_pass("V-DONE", "H1", "OWNER", local(DAY - timedelta(days=3), 9), status="expired")
    result = reconcile(city.frames(DAY, WEEK[0]), POLICY)
    assert result.passes_to_expire["pass_id"].to_list() == ["V-STALE"]
    [finding] = result.findings.filter(pl.col("finding_type") == FindingType.EXPIRED_PASS_ACTIVE).to_dicts()
    assert finding["subject"] == "pass#V-STALE"


def test_finding_ids_are_a_function_of_the_situation(city):
    city.person("GONE", home="H1")
    first = reconcile(city.frames(DAY, WEEK[0]), POLICY).findings
    again = reconcile(city.frames(DAY, WEEK[0]), POLICY).findings
    next_day = reconcile(city.frames(DAY + timedelta(days=1), WEEK[1]), POLICY).findings
    assert first["finding_id"].to_list() == again["finding_id"].to_list()
    assert set(first["finding_id"]) == set(next_day["finding_id"])  # same person, same home: same finding


def test_grantee_the_population_registry_has_no_address_for(city):
    city.person("APP-ONLY", registries=("app",))
    city.grant("GR-A", "H1", "APP-ONLY", by="OWNER", relation="tenant")
    city.daily_trips("APP-ONLY", "H1", WEEK)
    [finding] = findings_of(city, FindingType.GRANTEE_NOT_REGISTERED)
    assert (finding["person_id"], finding["home_id"]) == ("APP-ONLY", "H1")
    assert json.loads(finding["evidence"])["registries"] == "app"
    assert findings_of(city, FindingType.GRANTEE_REGISTERED_ELSEWHERE) == []


def test_checks_see_the_city_after_this_runs_revocations(city):
    """A former owner's tenant who keeps coming in is, once the grant is revoked, a face without a grant."""
    city.home("H7", "E1", room="107", area=90.0)
    city.person("SELLER")
    city.person("BUYER")
    city.own("SELLER", "H7", since=date(2010, 1, 1), until=DAY - timedelta(days=30))
    city.own("BUYER", "H7", since=DAY - timedelta(days=30))
    for n in range(2):
        city.person(f"OLD{n}", home="H9")  # registered elsewhere
        city.grant(f"GR-OLD{n}", "H7", f"OLD{n}", by="SELLER", relation="tenant")
        city.daily_trips(f"OLD{n}", "H7", WEEK[-3:])
    result = reconcile(city.frames(DAY, WEEK[0]), POLICY)
    assert sorted(result.grants_to_revoke["grant_id"].to_list()) == ["GR-OLD0", "GR-OLD1"]
    kinds = result.findings.filter(pl.col("home_id") == "H7")["finding_type"].to_list()
    assert FindingType.FACES_OVER_GRANTS in kinds  # two faces, no grant left
    assert FindingType.GRANTEE_REGISTERED_ELSEWHERE not in kinds  # their grants are going
