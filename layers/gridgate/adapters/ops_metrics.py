"""Operational metrics as CloudWatch Embedded Metric Format (EMF), through Powertools Metrics.

EMF is a JSON log line: CloudWatch Logs turns it into metrics by itself, so a Lambda or a flow
container needs no metrics client, no extra latency and no IAM beyond writing its logs. Each call
here writes one line at once (`single_metric`), with its own dimensions: a gate decision counts
under its outcome *and* reason, which one shared `Metrics` object (one dimension set per flush)
could not express. Namespace ``gridgate``; the ``service`` dimension says which function or flow.
The alarms in `infra/alarms.py` are defined on these names.

| metric | unit | dimensions | emitted by |
|---|---|---|---|
| GateDecisions | Count | service, outcome, reason | the gate function, per decision |
| GateDecisionLatency | Milliseconds | service, outcome | the gate function, per decision |
| Refusals | Count | service, code | every app function, per 4xx it answers |
| FlowDuration | Seconds | service, flow, state | every nightly flow, when it ends |
| FlowRunsFailed | Count | service, flow | every nightly flow that fails |
| WebhookDeadLetters | Count | service | webhook delivery, per dead letter |
"""

from __future__ import annotations

import os

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

NAMESPACE = "gridgate"


def _service() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME", "gridgate")


def emit(name: str, value: float, unit: MetricUnit, **dimensions: str) -> None:
    """Write one EMF line: `name` = `value` under `dimensions` (plus the service); nothing where
    ``POWERTOOLS_METRICS_DISABLED`` is set (the demo: the lines would drown its story)."""
    if is_metrics_disabled():
        return
    with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=_service())
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=str(dimension) or "-")


def count(name: str, **dimensions: str) -> None:
    emit(name, 1, MetricUnit.Count, **dimensions)


def gate_decision(outcome: str, reason: str, milliseconds: float) -> None:
    count("GateDecisions", outcome=outcome, reason=reason)
    emit("GateDecisionLatency", milliseconds, MetricUnit.Milliseconds, outcome=outcome)


def refusal(code: str) -> None:
    count("Refusals", code=code)


def flow_ended(flow: str, state: str, seconds: float) -> None:
    emit("FlowDuration", seconds, MetricUnit.Seconds, flow=flow, state=state)
    if state != "Completed":
        count("FlowRunsFailed", flow=flow)
