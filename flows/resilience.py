"""Which failures a flow task retries, and how: transient storage errors, with backoff.

DynamoDB throttles (on-demand tables too, during a burst) and S3 asks to slow down; a
connection can drop. Those are worth another try after a pause. Anything else — a conditional
check that failed, a missing table, a bug — fails at once, because retrying cannot fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from prefect.cache_policies import NO_CACHE, CachePolicy
from prefect.tasks import exponential_backoff
from pynamodb.exceptions import PynamoDBException

#: Error codes AWS uses for "too much right now" or "try again".
TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "InternalServerError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


def _chain(error: BaseException | None):
    """The error and everything it was raised from or wraps (PynamoDB keeps botocore's as `.cause`)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = getattr(error, "cause", None) or error.__cause__ or error.__context__


def is_transient(error: BaseException | None) -> bool:
    for link in _chain(error):
        if isinstance(link, (BotoConnectionError, HTTPClientError)):
            return True
        if isinstance(link, ClientError) and link.response.get("Error", {}).get("Code") in TRANSIENT_CODES:
            return True
        if isinstance(link, PynamoDBException) and link.cause_response_code in TRANSIENT_CODES:
            return True
    return False


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: retry only storage hiccups."""
    try:
        outcome = state.result(raise_on_failure=False)
    except Exception as error:  # the state may hold the exception rather than return it
        outcome = error
    return isinstance(outcome, BaseException) and is_transient(outcome)


class TaskOptions(TypedDict, total=False):
    """The `prefect.task` options the flows set, typed as `task` takes them (for ``**`` passing)."""

    retries: int
    retry_delay_seconds: Callable[[int], list[float]]
    retry_jitter_factor: float
    retry_condition_fn: Callable[[Any, Any, Any], bool]
    cache_policy: CachePolicy
    persist_result: bool


#: Options of every task that touches storage: 4 retries at 2, 4, 8, 16 s (with jitter), only for
#: transient errors. Results stay in memory (frames are large and rebuilt on every run).
STORAGE_TASK = TaskOptions(
    retries=4,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
    cache_policy=NO_CACHE,
    persist_result=False,
)

#: Options of pure computations: nothing to retry, nothing to cache.
COMPUTE_TASK = TaskOptions(cache_policy=NO_CACHE, persist_result=False)
