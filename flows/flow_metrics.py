"""Every nightly flow reports how long it ran and how it ended, as an EMF metric (`FlowDuration`,
and `FlowRunsFailed` for a failure; `gridgate.adapters.ops_metrics`), so the "failed flows" alarm
and a duration trend need nothing but the flow container's log stream.

A Prefect state hook (``on_completion`` and ``on_failure``) rather than code in each flow: the
hook also runs when the flow body raised before reaching any line of its own.
"""

from __future__ import annotations

import logging

from gridgate.adapters.ops_metrics import flow_ended

logger = logging.getLogger(__name__)


def record_flow_end(flow, flow_run, state) -> None:
    """Prefect state hook: emit the run's duration under its flow and final state. Never raises."""
    try:
        started = flow_run.start_time
        seconds = (state.timestamp - started).total_seconds() if started else flow_run.total_run_time.total_seconds()
        flow_ended(flow.name, state.name, max(seconds, 0.0))
    except Exception:  # a metric must not change how the run ended
        logger.exception("could not record the duration of flow %s", flow.name)
