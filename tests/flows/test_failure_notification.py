"""Nightly runs shout when they fail, and a failed reconciliation stops the night (issue 17, item 6)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from gridgate import clock
from local_emulator.loopback_receiver import LoopbackReceiver


@pytest.fixture
def receiver(settings_env):
    with LoopbackReceiver() as hook:
        settings_env(GRIDGATE_FAILURE_WEBHOOK_URL=hook.url, GRIDGATE_PREFECT_UI_URL="http://127.0.0.1:4200")
        yield hook


def test_a_failed_flow_posts_its_alert_to_the_webhook_and_emits_its_failure_metric(prefect_server, receiver, capsys):
    from flows.reconciliation import nightly_reconciliation

    not_over = clock.today() + timedelta(days=3)  # a day that has not ended: the flow refuses it
    capsys.readouterr()
    state = nightly_reconciliation(day=not_over, return_state=True)
    metrics = {}
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            emf = json.loads(line)
            metrics[emf["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]] = emf
    assert metrics["FlowRunsFailed"]["flow"] == "nightly-reconciliation" and metrics["FlowRunsFailed"][
        "FlowRunsFailed"
    ] == [1.0]
    duration = metrics["FlowDuration"]
    assert (duration["flow"], duration["state"]) == ("nightly-reconciliation", "Failed")
    assert (
        duration["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] == "Seconds" and duration["FlowDuration"][0] >= 0
    )
    assert state.is_failed()
    [alert] = receiver.wait_for(1)
    body = alert.json()
    run_id = str(state.state_details.flow_run_id)
    assert alert.headers["Content-Type"] == "application/json"
    assert (body["event"], body["flow"], body["state"]) == ("flow_run.failed", "nightly-reconciliation", "Failed")
    assert body["flow_run_id"] == run_id and body["url"] == f"http://127.0.0.1:4200/runs/flow-run/{run_id}"
    assert body["message"]


def test_an_unreachable_webhook_is_logged_and_does_not_change_the_failure(prefect_server, settings_env, caplog):
    from flows.reconciliation import nightly_reconciliation

    with LoopbackReceiver() as closed:
        gone = closed.url  # a loopback port nobody listens on once the receiver has stopped
    settings_env(GRIDGATE_FAILURE_WEBHOOK_URL=gone)
    with caplog.at_level("ERROR", logger="flows.notify"):
        state = nightly_reconciliation(day=clock.today() + timedelta(days=3), return_state=True)
    assert state.is_failed() and state.type.value == "FAILED"
    assert any("could not be reached" in r.getMessage() for r in caplog.records if r.name == "flows.notify")


def test_a_failed_reconciliation_stops_the_night_and_notifies(prefect_server, receiver, monkeypatch):
    import flows.reconciliation
    import flows.run_all
    from flows.run_all import NightFailed, run_nightly

    def export_unavailable(*args, **kwargs):
        raise RuntimeError("registry export unavailable")

    started = []
    monkeypatch.setattr(flows.reconciliation, "load_city", export_unavailable)
    monkeypatch.setattr(flows.run_all, "population_statistics_and_alerts", lambda **kw: started.append("statistics"))
    monkeypatch.setattr(flows.run_all, "generate_verification_tasks", lambda **kw: started.append("tasks"))

    with pytest.raises(NightFailed) as failed:
        run_nightly(day=clock.today() - timedelta(days=1), report_dir=None)
    assert (failed.value.failed, failed.value.not_started, failed.value.completed) == (
        "reconciliation",
        ["statistics", "tasks"],
        {},
    )
    assert started == []
    [alert] = receiver.wait_for(1)
    assert alert.json()["flow"] == "nightly-reconciliation" and "registry export unavailable" in alert.json()["message"]
