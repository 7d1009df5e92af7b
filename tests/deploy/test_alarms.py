"""The alarms a deployment creates (issue 17, item 5), checked on the generated descriptor: each
watches a metric that exists, with the exact dimensions it is emitted with (an alarm on a
dimension set nobody emits stays "OK" forever), and notifies the stage's alarm topic."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from infra.alarms import EVENTS_SERVICE, FLOWS_SERVICE, GATE_SERVICE, NIGHTLY_FLOWS
from infra.generate import resources_template

REPO = Path(__file__).resolve().parents[2]


def _alarms() -> dict[str, dict]:
    resources = resources_template()["Resources"]
    return {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}


def _emitted(capsys, monkeypatch, service: str, emit) -> dict[tuple[str, str], dict[str, str]]:
    """(metric name, service) -> dimensions, as `gridgate.adapters.ops_metrics` writes them for `service`."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", service)
    capsys.readouterr()
    emit()
    found = {}
    for line in capsys.readouterr().out.splitlines():
        if '"_aws"' in line:
            document = json.loads(line)
            [directive] = document["_aws"]["CloudWatchMetrics"]
            found[directive["Metrics"][0]["Name"], service] = {
                name: document[name] for name in directive["Dimensions"][0]
            }
    return found


def test_the_stage_alarms_on_5xx_latency_failed_flows_and_dead_letters():
    alarms = _alarms()
    watched = {(a["Namespace"], a["MetricName"]) for a in alarms.values()}
    assert {
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "Latency"),
        ("gridgate", "FlowRunsFailed"),
        ("gridgate", "WebhookDeadLetters"),
        ("gridgate", "GateDecisionLatency"),
        ("AWS/Lambda", "Errors"),
    } <= watched
    latency = next(a for a in alarms.values() if a["MetricName"] == "Latency")
    assert latency["ExtendedStatistic"] == "p95" and "Statistic" not in latency
    failed = {
        d["Value"]
        for a in alarms.values()
        if a["MetricName"] == "FlowRunsFailed"
        for d in a["Dimensions"]
        if d["Name"] == "flow"
    }
    assert failed == set(NIGHTLY_FLOWS)
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] and alarm["TreatMissingData"] == "notBreaching"


def test_every_gridgate_alarm_matches_a_metric_as_the_code_emits_it(capsys, monkeypatch):
    from gridgate.adapters import ops_metrics

    emitted = {
        **_emitted(capsys, monkeypatch, GATE_SERVICE, lambda: ops_metrics.gate_decision("open", "owner_right", 12.0)),
        **_emitted(capsys, monkeypatch, FLOWS_SERVICE, lambda: ops_metrics.flow_ended("nightly-night", "Failed", 3.0)),
        **_emitted(capsys, monkeypatch, EVENTS_SERVICE, lambda: ops_metrics.count("WebhookDeadLetters")),
        # the flows send findings and alerts out and make their first attempt (flows/findings_out.py)
        **_emitted(capsys, monkeypatch, FLOWS_SERVICE, lambda: ops_metrics.count("WebhookDeadLetters")),
    }
    for name, alarm in _alarms().items():
        if alarm["Namespace"] != "gridgate":
            continue
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        key = (alarm["MetricName"], dimensions.get("service", ""))
        assert key in emitted, name
        assert set(dimensions) == set(emitted[key]), (name, dimensions, emitted[key])
    dead = {d["Value"] for a in _alarms().values() if a["MetricName"] == "WebhookDeadLetters" for d in a["Dimensions"]}
    assert dead == {EVENTS_SERVICE, FLOWS_SERVICE}


def test_the_events_functions_read_the_stream_the_events_table_declares():
    resources = resources_template()["Resources"]
    assert resources["AccessEventsTable"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    role = resources["EventsFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert any(s.get("Resource") == {"Fn::GetAtt": ["AccessEventsTable", "StreamArn"]} for s in role)

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    # a list of maps, and the generated gate shards' ``${file(...)}`` (a string here)
    parts = yaml.load((REPO / "serverless.yml").read_text(), Loader=Loader)["functions"]
    functions = {name: spec for part in parts if isinstance(part, dict) for name, spec in part.items()}
    [stream] = [e["stream"] for e in functions["events"]["events"]]
    assert stream["arn"] == {"Fn::GetAtt": ["AccessEventsTable", "StreamArn"]} and stream["type"] == "dynamodb"
    assert functions["events"]["handler"] == "chalicelib.event_stream.handle"
    assert functions["webhook-retries"]["handler"] == "chalicelib.event_stream.retry"
    assert functions["events"]["environment"]["POWERTOOLS_SERVICE_NAME"] == EVENTS_SERVICE
    assert functions["gate"]["environment"]["POWERTOOLS_SERVICE_NAME"] == GATE_SERVICE
    flows_env = yaml.safe_load((REPO / "flows" / "prefect.yaml").read_text())["definitions"]["work_pool"][
        "job_variables"
    ]["env"]
    assert flows_env["POWERTOOLS_SERVICE_NAME"] == FLOWS_SERVICE
