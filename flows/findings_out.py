"""The nightly flows' findings and key-group alerts out to their subscribers (docs/events-out.md).

Run after a flow stored what it found: the stored findings (their first detection time, their
status) that are still open go to `EventDelivery.accept_findings`, which sends each to the
subscriptions whose scope may receive it, signed, at least once. A re-run or a retried task
queues nothing twice (one delivery record per subscriber and finding id); what a subscriber did
not take is retried by the `webhook-retries` schedule and ends as a dead letter. With no
subscription to findings or alerts nothing is read.
"""

from __future__ import annotations

from prefect import task

from flows.resilience import STORAGE_TASK
from gridgate.adapters.findings import FindingRepository, finding_from_item
from gridgate.domain.model import TaskStatus
from gridgate.events_out.event_delivery import EventDelivery
from gridgate.security.identifiers import IdentifierProtector
from gridgate.security.keyring import get_keyring


@task(**STORAGE_TASK)
def send_findings_out(finding_ids: list[str]) -> dict:
    """Deliver the open findings among `finding_ids`; returns the delivery counts."""
    delivery = EventDelivery(IdentifierProtector(get_keyring()))
    if not finding_ids or not delivery.finding_subscriptions():
        return {}
    stored = FindingRepository().existing(finding_ids).values()
    findings = [finding_from_item(item) for item in stored if item.status == TaskStatus.OPEN.value]
    return vars(delivery.accept_findings(findings))
