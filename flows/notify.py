"""A failed flow tells someone: the ``on_failure`` hook of every nightly flow posts to a webhook.

A night whose reconciliation failed leaves grants of former owners un-revoked and grid workers
without lists; nobody watches the Prefect UI at 01:00, so the failure has to be pushed. The URL
is ``GRIDGATE_FAILURE_WEBHOOK_URL`` (a chat-ops or paging endpoint; locally the demo's loopback
receiver). The alert carries the flow, the run, its state message and a link to the run in the
Prefect UI where `GRIDGATE_PREFECT_UI_URL` is set; no personal data (a state message is an
exception's text, which the flows keep free of identifiers).

The hook never raises: a broken webhook must not turn into a second, confusing failure, and the
run's own state stays what Prefect recorded. A failed delivery is logged.
"""

from __future__ import annotations

import json
import logging
import urllib.request

from gridgate.clock import now as city_now
from gridgate.config import get_settings

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5


def failure_alert(flow, flow_run, state) -> dict:
    """The JSON a failure posts: what failed, which run, why, and where to look."""
    settings = get_settings()
    ui = settings.prefect_ui_url
    return {
        "event": "flow_run.failed",
        "flow": flow.name,
        "flow_run_id": str(flow_run.id),
        "flow_run_name": flow_run.name,
        "deployment_id": str(flow_run.deployment_id) if flow_run.deployment_id else None,
        "state": state.name,
        "message": state.message,
        "stage": settings.stage,
        "at": city_now().isoformat(),
        "url": f"{ui.rstrip('/')}/runs/flow-run/{flow_run.id}" if ui else None,
    }


def notify_failure(flow, flow_run, state) -> None:
    """Prefect ``on_failure`` hook: post `failure_alert` to the configured webhook (if any)."""
    url = get_settings().failure_webhook_url
    alert = failure_alert(flow, flow_run, state)
    if not url:
        logger.error("flow %s failed (run %s); no GRIDGATE_FAILURE_WEBHOOK_URL to notify", flow.name, flow_run.id)
        return
    request = urllib.request.Request(
        url, data=json.dumps(alert).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read()
    except Exception:  # see the module docstring: the hook must not raise
        logger.exception("flow %s failed and the failure webhook could not be reached", flow.name)
