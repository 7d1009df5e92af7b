"""A flow small enough to show that a worker on the local pool executes a deployment's run."""

from prefect import flow


@flow(name="worker-probe")
def worker_probe(value: int = 1) -> int:
    return value + 1
