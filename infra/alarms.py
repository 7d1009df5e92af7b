"""The CloudWatch alarms a stage creates, and the SNS topic they notify (subscribe on-call to it).

Each alarm watches something an operator must act on, on metrics that exist without extra agents:
API Gateway's own (5xx, latency), Lambda's (function errors), and the EMF metrics gridgate writes
(`gridgate.adapters.ops_metrics`: gate decision latency, failed nightly flows, webhook dead
letters). A metric with no data (no traffic at night, no flow failed) is "not breaching".
`tests/deploy/test_alarms.py` checks every alarm watches a metric the code emits, with the
dimensions it emits.
"""

from __future__ import annotations

from infra.naming import API_FUNCTION, EVENTS_FUNCTION, FACES_FUNCTION, GATE_FUNCTION, RETRIES_FUNCTION

TOPIC_ID = "AlarmTopic"
NAMESPACE = "gridgate"
#: Services (``POWERTOOLS_SERVICE_NAME``) as serverless.yml and flows/prefect.yaml set them.
GATE_SERVICE, FLOWS_SERVICE, EVENTS_SERVICE = "gridgate-gate", "gridgate-flows", "gridgate-events"
#: The nightly flows whose failure pages someone (the night fails whenever one of its steps does).
NIGHTLY_FLOWS = ("nightly-night", "nightly-reconciliation", "population-statistics", "verification-task-generation")


def _alarm(
    description: str,
    namespace: str,
    metric: str,
    dimensions: dict,
    *,
    threshold: float,
    period: int = 300,
    evaluation: int = 1,
    datapoints: int = 1,
    statistic: str = "Sum",
    comparison: str = "GreaterThanOrEqualToThreshold",
) -> dict:
    properties = {
        "AlarmDescription": description,
        "Namespace": namespace,
        "MetricName": metric,
        "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions.items()],
        "Period": period,
        "EvaluationPeriods": evaluation,
        "DatapointsToAlarm": datapoints,
        "Threshold": threshold,
        "ComparisonOperator": comparison,
        "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": TOPIC_ID}],
        "OKActions": [{"Ref": TOPIC_ID}],
    }
    if statistic.startswith("p"):
        properties["ExtendedStatistic"] = statistic
    else:
        properties["Statistic"] = statistic
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}


def _function(name: str) -> dict:
    return {"Fn::Sub": "${TablePrefix}-${Stage}-" + name}


def alarm_resources() -> dict:
    api = {"ApiName": {"Fn::Sub": "${Stage}-gridgate"}}  # Serverless v3 names the REST API <stage>-<service>
    resources = {
        TOPIC_ID: {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": {"Fn::Sub": "${TablePrefix}-${Stage}-alarms"},
                "KmsMasterKeyId": "alias/aws/sns",
            },
        },
        "Api5xxAlarm": _alarm(
            "API answers 5xx: at least 5 in 5 minutes", "AWS/ApiGateway", "5XXError", api, threshold=5
        ),
        "ApiLatencyP95Alarm": _alarm(
            "API latency p95 above 2 s in 3 of 5 minutes",
            "AWS/ApiGateway",
            "Latency",
            api,
            threshold=2000,
            period=60,
            evaluation=5,
            datapoints=3,
            statistic="p95",
            comparison="GreaterThanThreshold",
        ),
        "GateDecisionLatencyP95Alarm": _alarm(
            "gate decisions that open: p95 above 1.5 s in 3 of 5 minutes (residents wait at the barrier)",
            NAMESPACE,
            "GateDecisionLatency",
            {"service": GATE_SERVICE, "outcome": "open"},
            threshold=1500,
            period=60,
            evaluation=5,
            datapoints=3,
            statistic="p95",
            comparison="GreaterThanThreshold",
        ),
    }
    # dead letters of the events functions (access events, every retry) and of the flows (the
    # first attempt of a finding or an alert, made by the flow that found it)
    for service, prefix in ((EVENTS_SERVICE, ""), (FLOWS_SERVICE, "Flows")):
        resources[prefix + "WebhookDeadLettersAlarm"] = _alarm(
            "a subscriber's webhook deliveries end as dead letters",
            NAMESPACE,
            "WebhookDeadLetters",
            {"service": service},
            threshold=1,
            period=900,
        )
    for function in (API_FUNCTION, FACES_FUNCTION, GATE_FUNCTION, EVENTS_FUNCTION, RETRIES_FUNCTION):
        resources[_logical(function) + "ErrorsAlarm"] = _alarm(
            f"the {function} function fails (unhandled errors, timeouts)",
            "AWS/Lambda",
            "Errors",
            {"FunctionName": _function(function)},
            threshold=1,
        )
    for flow in NIGHTLY_FLOWS:
        resources[_logical(flow) + "FailedAlarm"] = _alarm(
            f"the nightly flow {flow} failed",
            NAMESPACE,
            "FlowRunsFailed",
            {"service": FLOWS_SERVICE, "flow": flow},
            threshold=1,
            period=3600,
        )
    return resources


def _logical(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def alarm_outputs() -> dict:
    return {"AlarmTopicArn": {"Value": {"Ref": TOPIC_ID}}}
