"""Progress a data-center operator can watch while a flow runs: a progress artifact and a log line per step."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import cast
from uuid import UUID

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact


class StepProgress:
    """A flow's named steps; each finished step moves the flow's progress artifact forward."""

    def __init__(self, key: str, steps: Sequence[str]) -> None:
        self._steps = list(steps)
        self._done = 0
        self._logger = get_run_logger()
        # Prefect's async_dispatch types the call as `UUID | Coroutine`; called from sync code
        # (a flow run's thread) it returns the UUID
        self._artifact = cast(
            UUID,
            create_progress_artifact(
                0.0, key=f"{key}-progress", description=f"{len(steps)} steps: " + ", ".join(steps)
            ),
        )

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        number = self._steps.index(name) + 1
        self._logger.info("step %d/%d: %s", number, len(self._steps), name)
        started = time.perf_counter()
        yield
        self._done += 1
        seconds = time.perf_counter() - started
        self._logger.info("step %d/%d done in %.1f s: %s", number, len(self._steps), seconds, name)
        update_progress_artifact(
            self._artifact,
            progress=100.0 * self._done / len(self._steps),
            description=f"done: {name} ({seconds:.1f} s)",
        )
