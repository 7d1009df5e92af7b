"""Findings and alerts out, end to end: subscribers on loopback, a synthetic city in the emulator,
one real night of the three Prefect flows; what each receiver got is what its scope may have.

The same city as the nightly-flow tests (seed 8: an over-cap home, elderly residents not leaving,
planted night movers under approved correction tracking), one night, five subscribers: a property
company (findings of one estate), the city's platform (findings), a district's civil-affairs office
and its justice office (alerts of every district), and a property company subscribed to access
events only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from conftest import CITY_PERSONS, CITY_SEED, NIGHTS, approve_correction_tracking, reset_emulator

from gridgate import clock
from gridgate.security.tokens import issue_token
from gridgate.security.webhook_signatures import verify
from local_emulator.loopback_receiver import LoopbackReceiver

SUBSCRIBERS = {
    # name: (subject, roles, claims, kinds); claims None: filled in from the city
    "company": ("company-1", ["property_company"], "estate", ["finding"]),
    "city": ("dc-1", ["data_center"], None, ["finding"]),
    "civil": ("civil-1", ["civil_affairs_office"], "districts", None),
    "justice": ("justice-1", ["justice_office"], "districts", None),
    "access_only": ("company-2", ["property_company"], "estate", None),
}


@dataclass
class Night:
    city: object
    summary: dict
    subscriptions: dict[str, dict]
    received: dict[str, list]
    findings: dict[str, object]  # finding id -> FindingTable item


@pytest.fixture(scope="module")
def night(moto_server, prefect_server, chalice_app, tmp_path_factory) -> Iterator[Night]:
    from chalice.test import Client

    from flows.run_all import run_nightly
    from gridgate.adapters.findings import parallel_scan
    from gridgate.adapters.tables import FindingTable
    from gridgate.config import get_settings
    from local_emulator.city_loader import load_into_dynamodb
    from local_emulator.synthetic_city import build_city

    with pytest.MonkeyPatch.context() as env, clock.pinned(clock.running_from(NIGHTS[0])):
        env.setenv("GRIDGATE_WEBHOOK_ALLOW_LOOPBACK_HTTP", "true")
        get_settings.cache_clear()
        reset_emulator(moto_server)
        city = build_city(CITY_PERSONS, seed=CITY_SEED, history_days=8)
        load_into_dynamodb(city, get_settings(), max_table_events=500)
        approve_correction_tracking(city.truth["night_movement"], clock.today())
        receivers = {name: LoopbackReceiver() for name in SUBSCRIBERS}
        for receiver in receivers.values():
            receiver.__enter__()
        try:
            subscriptions = {}
            with Client(chalice_app) as client:
                for name, (subject, roles, claim, kinds) in SUBSCRIBERS.items():
                    claims = {
                        "estate": {"estates": [city.places.estate_ids[0]]},
                        "districts": {"districts": list(city.places.district_ids)},
                        None: {},
                    }[claim]
                    token = issue_token(subject, roles, **claims)
                    body = {"url": receivers[name].url, **({"kinds": kinds} if kinds else {})}
                    answer = client.http.post(
                        "/events/subscriptions",
                        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                        body=json.dumps(body),
                    )
                    assert answer.status_code == 201, answer.body
                    subscriptions[name] = json.loads(answer.body)
            summary = run_nightly(day=clock.today() - timedelta(days=1), report_dir=tmp_path_factory.mktemp("reports"))
            findings = {item.finding_id: item for item in parallel_scan(FindingTable)}
            yield Night(city, summary, subscriptions, {n: list(r.received) for n, r in receivers.items()}, findings)
        finally:
            for receiver in receivers.values():
                receiver.__exit__(None, None, None)
            get_settings.cache_clear()


def _bodies(night: Night, name: str) -> list[dict]:
    return [r.json() for r in night.received[name]]


def _open_of(night: Night, types) -> set[str]:
    return {f.finding_id for f in night.findings.values() if f.finding_type in types and f.status == "open"}


def test_the_night_sends_each_subscriber_what_its_scope_may_have(night):
    from gridgate.events_out.event_scope import CORRECTION_ALERTS, WELFARE_ALERTS

    civil = {b["id"] for b in _bodies(night, "civil")}
    justice = {b["id"] for b in _bodies(night, "justice")}
    assert civil and civil == _open_of(night, WELFARE_ALERTS)  # every district: every open welfare alert
    assert justice and justice == _open_of(night, CORRECTION_ALERTS)
    plain = {f for f in night.findings if night.findings[f].finding_type not in WELFARE_ALERTS | CORRECTION_ALERTS}
    city = {b["id"] for b in _bodies(night, "city")}
    assert city and city <= plain and not city & (civil | justice)
    company = _bodies(night, "company")
    assert {b["id"] for b in company} <= city
    assert {b["data"]["estate_id"] for b in company} <= {night.city.places.estate_ids[0]}
    assert night.received["access_only"] == []
    sent = night.summary["reconciliation"]["sent_out"]
    assert sent["delivered"] == len(city) + len(company) and sent["dead_letters"] == 0
    assert night.summary["statistics"]["alerts_sent_out"]["delivered"] == len(civil) + len(justice)


def test_what_the_offices_and_the_company_receive_identifies_nobody(night):
    persons = set(night.city.person_ids().to_pylist())
    for name in ("company", "civil", "justice"):
        for delivery in night.received[name]:
            header = delivery.headers["Gridgate-Signature"]
            sent_at = int(header.split(",")[0].removeprefix("t="))
            assert verify(night.subscriptions[name]["secret"], header, delivery.body, sent_at)
            data = delivery.json()["data"]
            assert "person_id" not in data and "explanation" not in data["facts"]
            values = {str(v) for v in data.values()} | {str(v) for v in data["facts"].values()}
            assert not values & persons, f"{name} received a person id"
            assert not {"key_groups", "age", "approval_case", "grant_ids", "granted_by"} & set(data["facts"])
    city_ids = {b["data"]["person_id"] for b in _bodies(night, "city")} - {None}
    assert city_ids <= persons  # the city's platform gets the internal ids, as for access events
