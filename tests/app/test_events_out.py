"""Events out (issue 17, item 4): scoped subscriptions through the real app, signed webhooks to a
receiver on loopback, retries with backoff, dead letters, the stream handler, and exports."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from gridgate import clock
from gridgate.adapters.events import EventRepository, event_to_item
from gridgate.config import get_settings
from gridgate.domain.model import AccessEvent, AccessMethod, Direction, Outcome, Registry
from gridgate.security.tokens import issue_token
from gridgate.security.webhook_signatures import verify
from local_emulator.loopback_receiver import LoopbackReceiver

#: The instant the tests run at: 23:30 in Nanjing on 12-31 (15:30 UTC).
T0 = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)
MINE, THEIRS = "E-MINE", "E-THEIRS"


@pytest.fixture
def outbox(clean_tables, settings_env):
    """Empty tables, loopback subscribers allowed, 3 attempts 60 s apart; the clock at T0."""
    settings_env(
        GRIDGATE_WEBHOOK_ALLOW_LOOPBACK_HTTP="true",
        GRIDGATE_WEBHOOK_MAX_ATTEMPTS="3",
        GRIDGATE_WEBHOOK_BACKOFF_SECONDS="60",
    )
    with clock.pinned(T0):
        yield


def _bearer(subject: str, roles, estates=()) -> dict:
    return {
        "Authorization": f"Bearer {issue_token(subject, roles, estates=estates)}",
        "Content-Type": "application/json",
    }


COMPANY = ("company-1", ["property_company"], [MINE])


def _subscribe(client, url: str, who=COMPANY, **body) -> dict:
    answer = client.http.post("/events/subscriptions", headers=_bearer(*who), body=json.dumps({"url": url, **body}))
    assert answer.status_code == 201, answer.body
    return json.loads(answer.body)


def _event(n: int, estate: str, minutes: int = -10, person: str | None = "P-0001") -> AccessEvent:
    return AccessEvent(
        event_id=f"G-{estate}:{n}",
        gate_id=f"G-{estate}",
        estate_id=estate,
        direction=Direction.IN,
        occurred_at=T0 + timedelta(minutes=minutes),
        method=AccessMethod.FACE,
        outcome=Outcome.OPEN,
        reason="owner_right",
        person_id=person,
        home_id=f"H-{estate}-1",
        registry=Registry.APP,
        score=0.91,
        right="owner",
        pass_id=None,
    )


def _delivery():
    from gridgate.events_out.event_delivery import EventDelivery
    from gridgate.security.identifiers import IdentifierProtector
    from gridgate.security.keyring import get_keyring

    return EventDelivery(IdentifierProtector(get_keyring()), get_settings())


def test_a_property_company_subscribes_only_to_its_own_estates_over_https(client, outbox):
    created = _subscribe(client, "http://127.0.0.1:9/hook")
    assert (created["scope"], created["estate_ids"]) == ("estates", [MINE]) and created["secret"].startswith("whsec_")
    listed = json.loads(client.http.get("/events/subscriptions", headers=_bearer(*COMPANY)).body)["subscriptions"]
    assert [s["subscription_id"] for s in listed] == [created["subscription_id"]] and "secret" not in listed[0]

    def refused(body: dict, who=COMPANY) -> tuple[int, str]:
        answer = client.http.post("/events/subscriptions", headers=_bearer(*who), body=json.dumps(body))
        return answer.status_code, json.loads(answer.body)["code"]

    assert refused({"url": "http://127.0.0.1:9/hook", "estate_ids": [MINE, THEIRS]}) == (403, "out_of_scope")
    assert refused({"url": "http://hooks.example.com/x"}) == (400, "bad_url")
    assert refused({"url": "https://169.254.169.254/latest/meta-data"}) == (400, "bad_url")
    assert refused({"url": "https://user:pw@hooks.example.com/"}) == (400, "bad_url")
    assert refused({"url": "https://hooks.example.com/", "extra": 1})[0] == 400
    assert refused({"url": "https://hooks.example.com/"}, who=("resident-1", ["resident"])) == (403, "forbidden")
    assert refused({"url": "https://hooks.example.com/"}, who=("company-2", ["property_company"])) == (
        403,
        "out_of_scope",
    )
    other = client.http.delete(
        f"/events/subscriptions/{created['subscription_id']}",
        headers=_bearer("company-2", ["property_company"], [THEIRS]),
    )
    assert other.status_code == 404


def test_deliveries_are_signed_scoped_and_never_leave_the_scope(client, outbox):
    with LoopbackReceiver() as company, LoopbackReceiver() as city:
        mine = _subscribe(client, company.url)
        hub = _subscribe(client, city.url, who=("dc-1", ["data_center"], []))
        for event in (_event(1, MINE), _event(2, THEIRS)):
            EventRepository().append(event)
        counts = _delivery().accept([_event(1, MINE), _event(2, THEIRS)])
        assert (counts.queued, counts.delivered) == (3, 3)  # the company: 1 event; the city: both
        [got] = company.wait_for(1)
        assert len(city.wait_for(2)) == 2 and len(company.received) == 1  # THEIRS never reached the company
        now = int(T0.timestamp())
        assert verify(mine["secret"], got.headers["Gridgate-Signature"], got.body, now)
        assert not verify(hub["secret"], got.headers["Gridgate-Signature"], got.body, now)  # another's secret
        assert not verify(mine["secret"], got.headers["Gridgate-Signature"], got.body + b" ", now)  # altered body
        assert not verify(mine["secret"], got.headers["Gridgate-Signature"], got.body, now + 3600)  # replayed later
        body = got.json()
        assert (
            body["id"] == got.headers["Gridgate-Event-Id"] == "G-E-MINE:1" and body["type"] == "access_event.recorded"
        )
        data = body["data"]
        assert data["estate_id"] == MINE and data["occurred_at_utc"] == "2026-12-31T15:20:00Z"
        assert data["occurred_at_local"] == "2026-12-31T23:20:00+08:00"
        assert {"person_id", "pass_id", "score", "registry"}.isdisjoint(data) and "P-0001" not in got.body.decode()
        assert len(data["person_ref"]) == 32
        by_id = {r.json()["id"]: r.json()["data"] for r in city.received}
        assert by_id["G-E-MINE:1"]["person_id"] == "P-0001" and "person_ref" not in by_id["G-E-MINE:1"]
        # the stream (or the local job) seeing the same events again queues nothing new
        again = _delivery().accept([_event(1, MINE), _event(2, THEIRS)])
        assert (again.queued, again.duplicates) == (0, 3) and len(company.received) == 1


def test_a_failing_receiver_gets_retries_with_backoff_then_a_dead_letter(client, outbox, capsys):
    with LoopbackReceiver(first_statuses=[500, 503, 500, 500]) as hook:
        created = _subscribe(client, hook.url)
        delivery = _delivery()
        assert delivery.accept([_event(1, MINE)]).retrying == 1
        assert delivery.retry_due().retrying == 0 and len(hook.received) == 1  # backoff not over
        with clock.pinned(T0 + timedelta(seconds=61)):
            assert delivery.retry_due().retrying == 1  # 2nd attempt; the next waits 120 s
        with clock.pinned(T0 + timedelta(seconds=61 + 119)):
            assert delivery.retry_due().retrying == 0
        with clock.pinned(T0 + timedelta(seconds=61 + 121)):
            assert delivery.retry_due().dead_letters == 1
        with clock.pinned(T0 + timedelta(days=1)):
            assert delivery.retry_due().dead_letters == 0  # a dead letter is never retried
        attempts = hook.received
        assert [r.headers["Gridgate-Delivery-Attempt"] for r in attempts] == ["1", "2", "3"]
        assert {r.headers["Gridgate-Event-Id"] for r in attempts} == {"G-E-MINE:1"}  # receivers de-duplicate on it
        assert len({r.body for r in attempts}) == 1 and len({r.headers["Gridgate-Signature"] for r in attempts}) == 3
    letters = client.http.get(
        f"/events/subscriptions/{created['subscription_id']}/dead-letters", headers=_bearer(*COMPANY)
    )
    [letter] = json.loads(letters.body)["dead_letters"]
    assert (letter["event_id"], letter["attempts"], letter["last_error"]) == ("G-E-MINE:1", 3, "HTTP 500")
    assert json.loads(letter["payload"])["id"] == "G-E-MINE:1"
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    dead = [m for m in metrics if m["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == "WebhookDeadLetters"]
    assert len(dead) == 1 and dead[0]["WebhookDeadLetters"] == [1.0] and dead[0]["service"] == "gridgate"


def test_a_receiver_that_fails_once_then_answers_gets_the_same_event_id_again(client, outbox):
    with LoopbackReceiver(first_statuses=[502]) as hook:
        _subscribe(client, hook.url)
        delivery = _delivery()
        delivery.accept([_event(7, MINE)])
        with clock.pinned(T0 + timedelta(minutes=2)):
            assert delivery.retry_due().delivered == 1
        first, second = hook.wait_for(2)
        assert first.json()["id"] == second.json()["id"] == "G-E-MINE:7"


@dataclass
class LambdaContext:
    """What the Lambda runtime passes a handler (the fields Powertools' logger reads)."""

    function_name: str = "gridgate-test-events"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:gridgate-test-events"
    aws_request_id: str = "5f1c1c8e-4b1e-4f5e-9a51-7d1e2c3b4a59"


def test_the_stream_handler_delivers_what_the_table_stream_inserts_and_logs_with_the_lambda_context(client, outbox):
    from chalicelib.event_stream import handle
    from chalicelib.logs import logger

    with LoopbackReceiver() as hook:
        _subscribe(client, hook.url)
        image = event_to_item(_event(3, MINE), get_settings()).serialize()
        records = [
            {"eventName": "INSERT", "dynamodb": {"NewImage": image}},
            {"eventName": "REMOVE", "dynamodb": {"OldImage": image}},
        ]  # a TTL removal is not an event
        written = io.StringIO()
        previous = logger.registered_handler.setStream(written)  # the JSON lines CloudWatch would get
        try:
            assert handle({"Records": records}, LambdaContext())["delivered"] == 1
        finally:
            logger.registered_handler.setStream(previous)
        [got] = hook.wait_for(1)
        assert got.json()["data"]["event_id"] == "G-E-MINE:3"
    lines = [json.loads(line) for line in written.getvalue().splitlines()]
    [logged] = [line for line in lines if line.get("message") == "stream batch delivered"]
    assert logged["function_request_id"] == LambdaContext.aws_request_id and logged["delivered"] == 1
    assert logged["function_name"] == "gridgate-test-events" and logged["level"] == "INFO"


def test_gridgate_events_deliver_is_the_local_job_over_new_events(client, outbox):
    from typer.testing import CliRunner

    from gridgate.events_out.event_delivery import deliver_recent
    from gridgate_cli.commands import app

    with LoopbackReceiver() as hook:
        _subscribe(client, hook.url)
        for event in (_event(1, MINE, -30), _event(2, MINE, -5), _event(3, THEIRS, -5), _event(4, MINE, -120)):
            EventRepository().append(event)
        ran = CliRunner().invoke(app, ["events", "deliver", "--hours", "1"])
        assert ran.exit_code == 0 and "已投递 2" in ran.output, ran.output
        assert sorted(r.json()["id"] for r in hook.wait_for(2)) == ["G-E-MINE:1", "G-E-MINE:2"]
        assert deliver_recent(_delivery(), T0 - timedelta(hours=1), T0).queued == 0


def test_export_a_time_range_as_csv_and_parquet_scoped_like_a_webhook(client, outbox):
    for event in (_event(1, MINE, -30), _event(2, MINE, -5), _event(3, THEIRS, -5), _event(4, MINE, -120)):
        EventRepository().append(event)
    query = "from=2026-12-31T22:40:00%2B08:00&to=2026-12-31T23:30:00%2B08:00"
    csv_answer = client.http.get(f"/events/export?{query}&format=csv", headers=_bearer(*COMPANY))
    assert csv_answer.status_code == 200 and csv_answer.headers["Content-Type"].startswith("text/csv")
    lines = csv_answer.body.decode("utf-8-sig").splitlines()
    assert (
        lines[0].split(",")[:3] == ["event_id", "occurred_at_utc", "occurred_at_local"] and "person_id" not in lines[0]
    )
    assert [line.split(",")[0] for line in lines[1:]] == ["G-E-MINE:1", "G-E-MINE:2"]
    everything = client.http.get(f"/events/export?{query}", headers=_bearer("dc-1", ["data_center"]))
    assert everything.status_code == 400 and json.loads(everything.body)["code"] == "estate_ids_required"
    city = client.http.get(
        f"/events/export?{query}&estate_ids={MINE},{THEIRS}", headers=_bearer("dc-1", ["data_center"])
    )
    assert "person_id" in city.body.decode("utf-8-sig").splitlines()[0] and city.body.count(b"\n") == 4


def test_gridgate_events_export_writes_parquet_with_labelled_times(client, outbox, tmp_path):
    from typer.testing import CliRunner

    from gridgate_cli.commands import app

    for event in (_event(1, MINE, -30), _event(2, MINE, -5), _event(3, THEIRS, -5), _event(4, MINE, -120)):
        EventRepository().append(event)
    out = tmp_path / "events.parquet"
    ran = CliRunner().invoke(
        app,
        [
            "events",
            "export",
            str(out),
            "--estate",
            MINE,
            "--estate",
            THEIRS,
            "--from",
            "2026-12-31T22:40:00+08:00",
            "--to",
            "2026-12-31T23:30:00+08:00",
        ],
    )
    assert ran.exit_code == 0 and "3" in ran.output, ran.output
    table = pq.read_table(out)
    assert sorted(table.column("event_id").to_pylist()) == ["G-E-MINE:1", "G-E-MINE:2", "G-E-THEIRS:3"]
    assert "person_id" in table.column_names and table.column("occurred_at_local").to_pylist()[0].endswith("+08:00")
    assert str(table.schema.field("score").type) == "double"
    naive = CliRunner().invoke(
        app,
        [
            "events",
            "export",
            str(out),
            "--estate",
            MINE,
            "--from",
            "2026-12-31T22:40:00",
            "--to",
            "2026-12-31T23:30:00",
        ],
    )
    assert naive.exit_code == 1


def test_bad_export_requests_are_400_and_foreign_estates_403(client, outbox):
    query = "from=2026-12-31T22:40:00%2B08:00&to=2026-12-31T23:30:00%2B08:00"
    for bad in (
        "from=yesterday&to=2026-12-31T23:30:00%2B08:00",
        "from=2026-12-31T22:40:00&to=2026-12-31T23:30:00",
        f"{query}&format=xlsx",
        f"{query}&format=parquet",
        "from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z",
    ):
        answer = client.http.get(f"/events/export?{bad}", headers=_bearer(*COMPANY))
        assert answer.status_code == 400, (bad, answer.body)
    foreign = client.http.get(f"/events/export?{query}&estate_ids={THEIRS}", headers=_bearer(*COMPANY))
    assert foreign.status_code == 403


def test_the_documented_signature_example_is_what_gridgate_computes():
    """A device maker or integrator follows docs/events-out.md: its worked example must be right."""
    import re
    from pathlib import Path

    from gridgate.security.webhook_signatures import signature_header

    page = (Path(__file__).resolve().parents[2] / "docs" / "events-out.md").read_text(encoding="utf-8")
    body = re.search(r"body\n\n```\n(.+)\n```", page).group(1).encode()
    documented = re.search(r"gives `Gridgate-Signature: (t=\d+,v1=[0-9a-f]{64})`", page).group(1)
    assert signature_header("whsec_" + "0" * 64, 1767196800, body) == documented


def test_subscriptions_and_dead_letters_page_with_limit_and_cursor(client, outbox):
    """Every list pages (issue 17, item 3): a company's subscriptions and a subscription's dead
    letters, read to the end two at a time, each exactly once, the next page in body and Link."""
    created = [_subscribe(client, f"http://127.0.0.1:9/hook{n}")["subscription_id"] for n in range(5)]

    def read_all(path: str) -> tuple[list[dict], int]:
        items, pages, cursor = [], 0, None
        while True:
            query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
            answer = client.http.get(f"{path}?{query}", headers=_bearer(*COMPANY))
            assert answer.status_code == 200, answer.body
            body = json.loads(answer.body)
            key = "subscriptions" if "subscriptions" in body else "dead_letters"
            assert len(body[key]) <= 2
            items, pages, cursor = items + body[key], pages + 1, body["next_cursor"]
            if cursor is None:
                assert "Link" not in answer.headers
                return items, pages
            assert cursor in answer.headers["Link"] and answer.headers["Link"].endswith('rel="next"')

    listed, pages = read_all("/events/subscriptions")
    assert [s["subscription_id"] for s in listed] == sorted(created) and pages == 3  # one instant: by id
    with LoopbackReceiver(status=500) as hook:
        target = _subscribe(client, hook.url)["subscription_id"]
        delivery = _delivery()
        settings_max = get_settings().webhook_max_attempts
        delivery.accept([_event(n, MINE) for n in range(5)])
        for attempt in range(1, settings_max):
            with clock.pinned(T0 + timedelta(seconds=60 * 2**attempt)):
                delivery.retry_due()
    letters, pages = read_all(f"/events/subscriptions/{target}/dead-letters")
    assert sorted(d["event_id"] for d in letters) == [f"G-E-MINE:{n}" for n in range(5)] and pages == 3
    tampered = client.http.get(f"/events/subscriptions?limit=2&cursor=AAAA{'x' * 40}", headers=_bearer(*COMPANY))
    assert tampered.status_code == 400 and json.loads(tampered.body)["code"] == "bad_cursor"
    foreign = client.http.get("/events/subscriptions?limit=0", headers=_bearer(*COMPANY))
    assert foreign.status_code == 400 and json.loads(foreign.body)["code"] == "bad_limit"
