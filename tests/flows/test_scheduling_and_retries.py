"""Deployments with cron schedules on the Prefect server, and retries of transient storage errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from prefect import flow, task
from prefect.client.orchestration import get_client
from pynamodb.exceptions import PutError

from flows.deployments import SCHEDULE, build_deployments
from flows.resilience import STORAGE_TASK, is_transient
from gridgate.config import get_settings


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "PutItem")


@pytest.mark.parametrize(
    "error, transient",
    [
        (PutError("put failed", cause=client_error("ProvisionedThroughputExceededException")), True),
        (client_error("ThrottlingException"), True),
        (client_error("SlowDown"), True),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (PutError("put failed", cause=client_error("ConditionalCheckFailedException")), False),
        (client_error("ResourceNotFoundException"), False),
        (ValueError("a bug"), False),
    ],
)
def test_which_errors_are_transient(error, transient):
    assert is_transient(error) is transient


def test_a_storage_task_retries_throttling_then_succeeds(prefect_server):
    calls = []

    @task(**{**STORAGE_TASK, "retry_delay_seconds": 0, "retry_jitter_factor": None})
    def store() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise PutError("put failed", cause=client_error("ProvisionedThroughputExceededException"))
        return "stored"

    @flow
    def nightly() -> str:
        return store()

    assert nightly() == "stored" and len(calls) == 3


def test_a_storage_task_does_not_retry_a_real_failure(prefect_server):
    calls = []

    @task(**{**STORAGE_TASK, "retry_delay_seconds": 0, "retry_jitter_factor": None})
    def store() -> None:
        calls.append(1)
        raise PutError("put failed", cause=client_error("ConditionalCheckFailedException"))

    @flow
    def nightly() -> None:
        store()

    with pytest.raises(PutError):
        nightly()
    assert len(calls) == 1


def test_the_night_is_scheduled_nightly_in_the_city_time_zone_and_its_steps_are_not(prefect_server):
    deployments = build_deployments()
    assert [d.flow_name for d in deployments] == [
        "nightly-night",
        "nightly-reconciliation",
        "population-statistics",
        "verification-task-generation",
    ]
    with get_client(sync_client=True) as client:
        for deployment, scheduled in zip(deployments, SCHEDULE):
            deployment.apply()
            stored = client.read_deployment_by_name(f"{deployment.flow_name}/{deployment.name}")
            if scheduled.cron is None:  # a step: the night starts it
                assert stored.schedules == []
                continue
            [schedule] = stored.schedules
            assert schedule.schedule.cron == scheduled.cron
            assert schedule.schedule.timezone == get_settings().city_timezone
            assert schedule.active
