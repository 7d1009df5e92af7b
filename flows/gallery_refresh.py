"""The night keeps every estate's gallery object loadable: built where missing, rebuilt before the
change log stops reaching it (`gridgate.gate.gallery_publisher.GalleryPublisher.refresh`).

A gate function that finds no object (or one the log no longer reaches) refuses faces at that
estate (`gallery_not_ready`) until its background build has stored one; at 50,000 people that
build takes minutes. Run each night after the reconciliation (whose revocations are then in the
object too), off every request path, it leaves the gates nothing to build: a new estate has its
object by the next morning at the latest, and an estate with no change for weeks never loses it.
Deciding costs one HEAD and two GetItems an estate; only the estates that need it are built.
A failed estate does not stop the others; the task then fails and its retry builds only what is
still missing (the ones already built are current).
"""

from __future__ import annotations

from collections import Counter

from prefect import get_run_logger, task

from flows.resilience import STORAGE_TASK
from gridgate.gate.gallery_publisher import GalleryPublisher


class GalleryRefreshFailed(RuntimeError):
    def __init__(self, failed: list[str]) -> None:
        super().__init__(f"gallery objects not built for {len(failed)} estates: {', '.join(failed[:10])}")
        self.failed = failed


@task(**STORAGE_TASK)
def refresh_gallery_objects(estate_ids: list[str]) -> dict[str, int]:
    """Refresh the gallery objects of `estate_ids`; returns how many estates had each outcome."""
    logger = get_run_logger()
    publisher = GalleryPublisher()
    outcomes: Counter[str] = Counter()
    failed = []
    for estate_id in sorted(set(estate_ids)):
        try:
            outcome = publisher.refresh(estate_id)
        except Exception:
            logger.exception("gallery object of %s not built", estate_id)
            failed.append(estate_id)
            continue
        outcomes[outcome.value] += 1
        if outcome.builds:
            logger.info("gallery object of %s built (%s)", estate_id, outcome.value)
    if failed:
        raise GalleryRefreshFailed(failed)
    return dict(outcomes)
