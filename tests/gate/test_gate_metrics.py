"""Gate decisions are counted by outcome and reason, with their latency, as EMF (issue 17, item 5).

The EMF lines are what CloudWatch Logs turns into metrics: asserted on as written to stdout."""

from __future__ import annotations

import json

from gate_helpers import decision_of


def _emf(out: str) -> list[dict]:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]
    return [line for line in lines if line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "gridgate"]


def _named(lines: list[dict], name: str) -> list[dict]:
    return [line for line in lines if line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == name]


def test_an_open_and_a_deny_each_emit_a_count_under_outcome_and_reason_and_a_latency(
    gate, gate_world, pass_issuer, capsys
):
    _, text = pass_issuer(gate_world.estate_id, gate_world.home_id)
    capsys.readouterr()
    assert decision_of(gate.qr("/gate/entry/qr", text))["outcome"] == "open"
    assert decision_of(gate.qr("/gate/entry/qr", "GGP1:NOTAPASS"))["outcome"] == "deny"
    lines = _emf(capsys.readouterr().out)
    counts = _named(lines, "GateDecisions")
    assert [(c["outcome"], c["reason"], c["GateDecisions"]) for c in counts][:1] == [("open", "visitor_pass", [1.0])]
    assert counts[1]["outcome"] == "deny" and counts[1]["reason"] != "visitor_pass" and len(counts) == 2
    [dimensions] = counts[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert sorted(dimensions) == ["outcome", "reason", "service"]
    latencies = _named(lines, "GateDecisionLatency")
    assert [line["outcome"] for line in latencies] == ["open", "deny"]
    assert all(line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] == "Milliseconds" for line in latencies)
    assert all(0 < line["GateDecisionLatency"][0] < 60_000 for line in latencies)


def test_a_refused_request_emits_a_refusal_under_its_code(gate, capsys):
    def forge(headers: dict) -> None:
        headers["X-Gate-Signature"] = "A" * 86  # not this gate's signature

    capsys.readouterr()
    refused = gate.send("/gate/entry/qr", b'{"text": "x"}', "application/json", tamper=forge)
    assert refused.status_code == 401, refused.body
    code = json.loads(refused.body)["code"]
    [refusal] = _named(_emf(capsys.readouterr().out), "Refusals")
    assert (refusal["code"], refusal["Refusals"]) == (code, [1.0])


def test_a_request_off_its_shard_is_decided_the_same_and_counted(gate, gate_world, pass_issuer, settings_env, capsys):
    """A device still calling another shard's URL: the passage is decided as anywhere else (routing
    is for warmth), and `GateOffShard` says the device needs its shard's URL."""
    from gridgate.config import Settings
    from gridgate.gate.affinity import shard_of

    home = shard_of(gate_world.estate_id, Settings(gate_shards=2))
    settings_env(GRIDGATE_GATE_SHARDS="2", GRIDGATE_GATE_SHARD=str(1 - home))
    _, text = pass_issuer(gate_world.estate_id, gate_world.home_id)
    capsys.readouterr()
    assert decision_of(gate.qr("/gate/entry/qr", text))["outcome"] == "open"
    [off] = _named(_emf(capsys.readouterr().out), "GateOffShard")
    assert off["GateOffShard"] == [1.0]
    settings_env(GRIDGATE_GATE_SHARD=str(home))
    _, text = pass_issuer(gate_world.estate_id, gate_world.home_id)
    assert decision_of(gate.qr("/gate/entry/qr", text))["outcome"] == "open"
    assert _named(_emf(capsys.readouterr().out), "GateOffShard") == []
