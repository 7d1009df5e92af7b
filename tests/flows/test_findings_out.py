"""Findings and key-group alerts out (issue 17, item 4): which scope may subscribe to which kind,
signed webhooks to receivers on loopback from the flows' own task, a stable id across a retry, a
dead letter after the last one, the rules checked again at delivery, and the exports.

The findings are the real computations' (`reconcile`, `key_group_alerts`) on a hand-built city
whose places and homes are stored in the emulator; subscriptions go through the real app.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pyarrow.parquet as pq
import pytest
from tiny_city import TinyCity, approved, days_before, local

from gridgate import clock
from gridgate.security.tokens import issue_token
from gridgate.security.webhook_signatures import verify
from local_emulator.loopback_receiver import LoopbackReceiver

DAY = date(2026, 11, 20)
WEEK = days_before(DAY, 7)
#: The night after DAY, 01:30 in Nanjing: when the flows run and the findings are detected.
T0 = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)
PEOPLE = ("LANDLORD", "T0", "T1", "T2", "GRAN", "GRANPA", "CC")


def _city() -> TinyCity:
    """District D1 (grids G1 with estate E1, G2 with estate E2) and district D2 (grid G3, estate E3):
    a home over its cap at E1, an elderly resident alone at E2 and one at E3, a person under
    approved correction tracking gone from E1."""
    c = TinyCity()
    for kind, place, parent in (("district", "D2", None), ("street", "S2", "D2"), ("community", "C2", "S2")):
        c.place(kind, place, parent)
    c.place("grid", "G3", "C2")
    c.home("H1", "E1", area=22.0)  # cap: 2
    c.person("LANDLORD")
    c.own("LANDLORD", "H1")
    for n in range(3):
        c.grant(f"GR-{n}", "H1", f"T{n}", by="LANDLORD", relation="tenant")
    c.home("H2", "E2", grid_id="G2")
    c.person("GRAN", home="H2", birth_year=1938, key_groups=("elderly_alone",))
    c.own("GRAN", "H2")
    c.home("H4", "E3", grid_id="G3")
    c.person("GRANPA", home="H4", birth_year=1936, key_groups=("elderly_alone",))
    c.own("GRANPA", "H4")
    c.home("H3", "E1", room="103")
    c.person("CC", home="H3", key_groups=("community_correction",))
    c.own("CC", "H3")
    c.daily_trips("CC", "H3", WEEK[:3])
    c.passage(local(WEEK[3], 8), "CC", "E1", "out", home_id="H3")  # gone four days
    return c


def _store(c: TinyCity) -> dict[str, str]:
    """Places, homes and the city's findings in the emulator; returns finding type -> id (E3's
    elderly alert as ``living_alone_no_exit@D2``)."""
    from gridgate.adapters.findings import FindingRepository
    from gridgate.adapters.repositories import HomeRepository, PlaceRepository
    from gridgate.analytics.finding_frames import to_findings
    from gridgate.analytics.key_group_alerts import AlertPolicy, key_group_alerts
    from gridgate.analytics.reconciliation_checks import ReconciliationPolicy, reconcile
    from gridgate.domain.model import Home, Place, PlaceKind

    levels = [k.value for k in PlaceKind][:5]
    for row in c.rows["places"]:
        kind = PlaceKind(row["kind"])
        ancestors = {PlaceKind(k): row[f"{k}_id"] for k in levels if k != kind.value and row.get(f"{k}_id")}
        PlaceRepository().add(Place(row["place_id"], kind, row["name"], row["parent_id"], ancestors))
    for row in c.rows["homes"]:
        HomeRepository().add(
            Home(
                row["home_id"],
                row["estate_id"],
                row["building_id"],
                row["unit"],
                row["floor"],
                row["room"],
                row["floor_area_m2"],
                row["grid_id"],
            )
        )
    frames = c.frames(DAY, WEEK[0])
    findings = pl.concat(
        [
            reconcile(frames, ReconciliationPolicy(resident_unseen_days=30)).findings,
            key_group_alerts(frames, AlertPolicy(), approved("CC", starts=DAY - timedelta(days=20), ends=DAY)),
        ]
    )
    stored = to_findings(findings, T0 - timedelta(minutes=5))
    FindingRepository().sync(stored)
    ids = {}
    for finding in stored:
        key = finding.finding_type + ("@D2" if finding.grid_id == "G3" else "")
        assert key not in ids, f"one finding of each kind is planted, got {key} twice"
        ids[key] = finding.finding_id
    return ids


@pytest.fixture
def planted(clean_tables, settings_env):
    settings_env(
        GRIDGATE_WEBHOOK_ALLOW_LOOPBACK_HTTP="true",
        GRIDGATE_WEBHOOK_MAX_ATTEMPTS="3",
        GRIDGATE_WEBHOOK_BACKOFF_SECONDS="60",
    )
    with clock.pinned(T0):
        yield _store(_city())


COMPANY = ("company-1", ["property_company"], {"estates": ["E1"]})
STREET = ("street-1", ["street_office"], {"grids": ["G1"]})
CIVIL = ("civil-d1", ["civil_affairs_office"], {"districts": ["D1"]})
JUSTICE = ("justice-d1", ["justice_office"], {"districts": ["D1"]})
CITY = ("dc-1", ["data_center"], {})


def _headers(who) -> dict:
    subject, roles, claims = who
    return {"Authorization": f"Bearer {issue_token(subject, roles, **claims)}", "Content-Type": "application/json"}


def _post(client, who, body: dict):
    answer = client.http.post("/events/subscriptions", headers=_headers(who), body=json.dumps(body))
    return answer.status_code, json.loads(answer.body)


def _subscribe(client, who, url: str, **body) -> dict:
    status, created = _post(client, who, {"url": url, **body})
    assert status == 201, created
    return created


def _send(ids) -> dict:
    """What the nightly flows run after storing their findings (the Prefect task's own function)."""
    from flows.findings_out import send_findings_out

    return send_findings_out.fn(sorted(ids))


def test_which_scope_may_subscribe_to_which_kind(client, planted):
    url = "https://hooks.example.com/gridgate"

    def refused(who, **body) -> tuple[int, str]:
        status, problem = _post(client, who, {"url": url, **body})
        return status, problem.get("code")

    # a property company: its estates' access events and findings, never an alert about people
    assert refused(COMPANY, kinds=["alert"]) == (403, "kind_not_allowed")
    assert refused(COMPANY, kinds=["access", "alert"]) == (403, "kind_not_allowed")
    assert refused(COMPANY, kinds=["finding"], district_ids=["D1"]) == (403, "out_of_scope")
    created = _subscribe(client, COMPANY, url, kinds=["finding", "access"])
    assert (created["scope"], created["kinds"], created["estate_ids"]) == ("estates", ["access", "finding"], ["E1"])
    assert _subscribe(client, COMPANY, url)["kinds"] == ["access"]  # the default, as before findings went out
    # a street office: findings of its grids only
    assert refused(STREET, kinds=["alert"]) == (403, "kind_not_allowed")
    assert refused(STREET, kinds=["access"]) == (403, "kind_not_allowed")
    assert refused(STREET, estate_ids=["E1"]) == (403, "out_of_scope")
    assert refused(STREET, grid_ids=["G2"]) == (403, "out_of_scope")
    street = _subscribe(client, STREET, url)
    assert (street["scope"], street["kinds"], street["grid_ids"], street["estate_ids"]) == (
        "grids",
        ["finding"],
        ["G1"],
        [],
    )
    # the district offices: alerts only, of their districts
    assert refused(CIVIL, kinds=["finding"]) == (403, "kind_not_allowed")
    assert refused(CIVIL, district_ids=["D2"]) == (403, "out_of_scope")
    civil = _subscribe(client, CIVIL, url)
    assert (civil["scope"], civil["kinds"], civil["district_ids"]) == ("civil_affairs", ["alert"], ["D1"])
    assert _subscribe(client, JUSTICE, url)["scope"] == "justice"
    # the city's platforms: access events and findings, no alerts
    assert refused(CITY, kinds=["alert"]) == (403, "kind_not_allowed")
    assert _subscribe(client, CITY, url, kinds=["finding"])["scope"] == "city"
    # malformed kinds are 400, an office without districts in its token 403
    assert refused(COMPANY, kinds=["everything"])[0] == 400
    assert refused(COMPANY, kinds=[])[0] == 400
    assert refused(COMPANY, kinds="finding")[0] == 400
    assert refused(("civil-x", ["civil_affairs_office"], {})) == (403, "out_of_scope")


def test_findings_and_alerts_reach_only_the_scopes_allowed_with_no_identifier_beyond_scope(client, planted):
    from gridgate.i18n import translator

    with (
        LoopbackReceiver() as company,
        LoopbackReceiver() as street,
        LoopbackReceiver() as civil,
        LoopbackReceiver() as justice,
        LoopbackReceiver() as city,
        LoopbackReceiver() as access_only,
    ):
        subs = {
            "company": _subscribe(client, COMPANY, company.url, kinds=["finding"]),
            "street": _subscribe(client, STREET, street.url),
            "civil": _subscribe(client, CIVIL, civil.url),
            "justice": _subscribe(client, JUSTICE, justice.url),
            "city": _subscribe(client, CITY, city.url, kinds=["finding"]),
        }
        _subscribe(client, COMPANY, access_only.url)  # access events only: no finding goes to it
        counts = _send(planted.values())
        assert counts["queued"] == counts["delivered"] == 5 and counts["dead_letters"] == 0
        receivers = {"company": company, "street": street, "civil": civil, "justice": justice, "city": city}
        got = {name: receiver.wait_for(1) for name, receiver in receivers.items()}
        assert access_only.received == []

    def ids(name: str) -> list[str]:
        return [r.json()["id"] for r in got[name]]

    assert ids("company") == ids("street") == ids("city") == [planted["grants_over_cap"]]
    assert ids("civil") == [planted["living_alone_no_exit"]]  # not D2's, not the correction alert
    assert ids("justice") == [planted["correction_absent"]]
    for name, [delivery] in got.items():
        body = delivery.json()
        now = int(T0.timestamp())
        assert verify(subs[name]["secret"], delivery.headers["Gridgate-Signature"], delivery.body, now)
        assert delivery.headers["Gridgate-Event-Id"] == body["id"] == body["data"]["finding_id"]
        assert body["subscription_id"] == subs[name]["subscription_id"]
        assert body["data"]["detected_at_local"] == "2026-11-21T01:25:00+08:00"
        assert body["data"]["title"] == translator("zh_CN")(f"finding.{body['data']['finding_type']}")
        if name == "city":
            continue
        text = delivery.body.decode()
        assert not [p for p in PEOPLE if f'"{p}"' in text], f"{name} received an internal person id"
        assert not {"GR-0", "case-CC", "key_groups", "explanation", "age", "grant_ids"} & set(
            text.replace('"', " ").replace(",", " ").split()
        )
        assert "person_id" not in body["data"] and "elderly_alone" not in text and "case-" not in text
    alert = got["civil"][0].json()
    assert alert["type"] == "alert.raised" and alert["data"]["kind"] == "alert"
    assert (alert["data"]["district_id"], alert["data"]["estate_id"], alert["data"]["home_id"]) == ("D1", "E2", "H2")
    assert len(alert["data"]["person_ref"]) == 32 and alert["data"]["facts"]["limit_days"] == 3
    absent = got["justice"][0].json()["data"]
    assert absent["facts"]["approval_ends"] == DAY.isoformat() and absent["facts"]["hours_absent"] > 48
    assert got["company"][0].json()["type"] == "finding.detected"
    assert got["company"][0].json()["data"]["facts"] == {"grants": 3, "cap": 2}
    city_view = got["city"][0].json()["data"]
    assert sorted(city_view["facts"]["grant_ids"]) == ["GR-0", "GR-1", "GR-2"]  # the city's own detail
    refs = {got[n][0].json()["data"]["person_ref"] for n in ("civil", "justice")}
    assert None not in refs and len(refs) == 2


def test_a_finding_is_delivered_once_with_a_stable_id_across_a_retry(client, planted):
    from gridgate.events_out.event_delivery import EventDelivery
    from gridgate.security.identifiers import IdentifierProtector
    from gridgate.security.keyring import get_keyring

    with LoopbackReceiver(first_statuses=[503]) as hook:
        created = _subscribe(client, COMPANY, hook.url, kinds=["finding"])
        first = _send(planted.values())
        assert (first["queued"], first["retrying"], first["delivered"]) == (1, 1, 0)
        delivery = EventDelivery(IdentifierProtector(get_keyring()))
        assert delivery.retry_due().delivered == 0  # the backoff is not over
        with clock.pinned(T0 + timedelta(seconds=61)):
            assert delivery.retry_due().delivered == 1
            again = _send(planted.values())  # the flow re-run (or its task retried) the same night
        assert (again["queued"], again["duplicates"], again["delivered"]) == (0, 1, 0)
        with clock.pinned(T0 + timedelta(days=1)):
            assert delivery.retry_due().delivered == 0
        attempts = hook.wait_for(2)
    assert len(attempts) == 2
    assert [a.headers["Gridgate-Delivery-Attempt"] for a in attempts] == ["1", "2"]
    assert {a.headers["Gridgate-Event-Id"] for a in attempts} == {planted["grants_over_cap"]}
    assert attempts[0].body == attempts[1].body  # byte-identical: a receiver de-duplicates on the id
    letters = client.http.get(
        f"/events/subscriptions/{created['subscription_id']}/dead-letters", headers=_headers(COMPANY)
    )
    assert json.loads(letters.body)["dead_letters"] == []


def test_an_alert_becomes_a_dead_letter_after_the_last_retry(client, planted):
    from gridgate.events_out.event_delivery import EventDelivery
    from gridgate.security.identifiers import IdentifierProtector
    from gridgate.security.keyring import get_keyring

    with LoopbackReceiver(status=500) as hook:
        created = _subscribe(client, JUSTICE, hook.url)
        assert _send(planted.values())["retrying"] == 1
        delivery = EventDelivery(IdentifierProtector(get_keyring()))
        with clock.pinned(T0 + timedelta(seconds=61)):
            assert delivery.retry_due().retrying == 1
        with clock.pinned(T0 + timedelta(seconds=61 + 121)):
            assert delivery.retry_due().dead_letters == 1
        with clock.pinned(T0 + timedelta(days=1)):
            assert delivery.retry_due().dead_letters == 0
        assert len(hook.wait_for(3)) == 3
    letters = client.http.get(
        f"/events/subscriptions/{created['subscription_id']}/dead-letters", headers=_headers(JUSTICE)
    )
    [letter] = json.loads(letters.body)["dead_letters"]
    assert (letter["event_id"], letter["attempts"], letter["last_error"]) == (
        planted["correction_absent"],
        3,
        "HTTP 500",
    )
    assert json.loads(letter["payload"])["type"] == "alert.raised" and '"CC"' not in letter["payload"]


def test_delivery_checks_the_rules_again_whatever_was_stored(client, planted):
    """A subscription stored with a kind its scope may not have (an old record, a bug, a hand
    edit) and a queued alert for a property company: neither reaches the receiver."""
    from gridgate.adapters.event_outbox import DeliveryRepository, Subscription, SubscriptionRepository
    from gridgate.events_out.event_delivery import EventDelivery
    from gridgate.security.identifiers import IdentifierProtector
    from gridgate.security.keyring import get_keyring

    protector = IdentifierProtector(get_keyring())
    with LoopbackReceiver() as hook:
        forged = Subscription(
            "sub_forged", "company-1", "estates", frozenset({"E1", "E2"}), frozenset({"alert"}), hook.url, "", T0
        )
        SubscriptionRepository(protector).create(forged, "whsec_" + "1" * 64)
        assert _send(planted.values()) == {
            "queued": 0,
            "duplicates": 0,
            "delivered": 0,
            "retrying": 0,
            "dead_letters": 0,
        }
        payload = json.dumps(
            {
                "id": planted["living_alone_no_exit"],
                "type": "alert.raised",
                "subscription_id": "sub_forged",
                "data": {"finding_type": "living_alone_no_exit"},
            }
        )
        DeliveryRepository().enqueue("sub_forged", planted["living_alone_no_exit"], payload)
        assert EventDelivery(protector).retry_due().dead_letters == 1
        assert hook.received == []
    [letter] = DeliveryRepository().dead_letters("sub_forged")
    assert letter.last_error == "not allowed for this scope" and letter.attempts == 1


def test_export_findings_and_alerts_for_a_time_range(client, planted, tmp_path):
    from typer.testing import CliRunner

    from gridgate_cli.commands import app

    night = "from=2026-11-21T00:00:00%2B08:00&to=2026-11-21T06:00:00%2B08:00"
    answer = client.http.get(f"/events/export?{night}&kind=finding", headers=_headers(COMPANY))
    assert answer.status_code == 200, answer.body
    lines = answer.body.decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["finding_id", "kind", "finding_type"] and "person_id" not in header
    assert [line.split(",")[0] for line in lines[1:]] == [planted["grants_over_cap"]]
    refused = client.http.get(f"/events/export?{night}&kind=alert", headers=_headers(COMPANY))
    assert refused.status_code == 403 and json.loads(refused.body)["code"] == "kind_not_allowed"
    bogus = client.http.get(f"/events/export?{night}&kind=people", headers=_headers(COMPANY))
    assert bogus.status_code == 400
    earlier = "from=2026-11-20T00:00:00%2B08:00&to=2026-11-21T00:00:00%2B08:00"  # before the detection
    empty = client.http.get(f"/events/export?{earlier}&kind=finding", headers=_headers(COMPANY))
    assert empty.body.decode("utf-8-sig").splitlines()[1:] == []
    civil = client.http.get(f"/events/export?{night}&kind=alert", headers=_headers(CIVIL))
    rows = civil.body.decode("utf-8-sig").splitlines()
    assert civil.status_code == 200 and [r.split(",")[0] for r in rows[1:]] == [planted["living_alone_no_exit"]]
    cells = {cell for row in csv.reader(rows) for cell in row}
    assert not set(PEOPLE) & cells and not [c for c in cells if "case-" in c or "elderly" in c]
    street = client.http.get(f"/events/export?{night}&kind=finding&grid_ids=G2", headers=_headers(STREET))
    assert street.status_code == 403 and json.loads(street.body)["code"] == "out_of_scope"

    out = tmp_path / "findings.parquet"
    window = ["--from", "2026-11-21T00:00:00+08:00", "--to", "2026-11-21T06:00:00+08:00"]
    ran = CliRunner().invoke(app, ["events", "export", str(out), "--estate", "E1", "--kind", "finding", *window])
    assert ran.exit_code == 0, ran.output
    table = pq.read_table(out)
    assert table.column("finding_id").to_pylist() == [planted["grants_over_cap"]]
    assert "person_id" in table.column_names and json.loads(table.column("facts")[0].as_py())["cap"] == 2
    alerts = CliRunner().invoke(app, ["events", "export", str(out), "--estate", "E1", "--kind", "alert", *window])
    assert alerts.exit_code == 1  # the city's export carries no alerts


def test_the_alert_types_the_rules_know_are_the_ones_the_flow_raises():
    from typing import get_args

    from chalicelib.events_out_schemas import Kind
    from gridgate.analytics.key_group_alerts import ALERT_TYPES
    from gridgate.events_out.event_scope import ALERT_TYPES as RECEIVABLE
    from gridgate.events_out.event_scope import KINDS, RULES

    assert get_args(Kind) == KINDS  # the API's schema names the kinds the rules know

    assert RECEIVABLE == frozenset(ALERT_TYPES)
    assert {t for rule in RULES.values() for t in rule.alert_types} == RECEIVABLE  # every alert has a recipient


def test_every_refusal_of_the_events_routes_is_a_problem_with_its_request_id(client, planted):
    """Issue 17, item 1, on this feature's routes: the service's refusals, Chalice's own 405 and
    415, a missing token (401 with WWW-Authenticate) and another's subscription (404)."""
    from problems import problem

    url = "https://hooks.example.com/x"
    body = json.dumps({"url": url, "kinds": ["alert"]})
    kind = problem(
        client.http.post("/events/subscriptions", headers=_headers(COMPANY), body=body), 403, "kind_not_allowed"
    )
    assert kind["kinds"] == ["alert"]
    problem(client.http.request("PATCH", "/events/subscriptions", headers=_headers(COMPANY)), 405, "method_not_allowed")
    text = {**_headers(COMPANY), "Content-Type": "text/plain"}
    problem(client.http.post("/events/subscriptions", headers=text, body=b"x"), 415, "unsupported_media_type")
    anonymous = client.http.get("/events/subscriptions")
    problem(anonymous, 401, "missing_token")
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    mine = _subscribe(client, JUSTICE, url)["subscription_id"]
    problem(client.http.delete(f"/events/subscriptions/{mine}", headers=_headers(CIVIL)), 404, "no_such_subscription")
    problem(client.http.get("/events/export?kind=alert", headers=_headers(JUSTICE)), 400, "bad_range")
