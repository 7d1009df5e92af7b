"""The night deletes face templates held past the retention policy (docs/privacy.md, 2025 face
measures Art. 8): `gridgate.residents.face_retention.FaceRetention.purge`, run in the nightly
reconciliation before the gallery objects are refreshed, so the objects it rebuilds hold none.
Idempotent: a retry finds only what is still there."""

from __future__ import annotations

from prefect import get_run_logger, task

from flows.resilience import STORAGE_TASK
from gridgate.residents.face_retention import FaceRetention


@task(**STORAGE_TASK)
def purge_expired_templates() -> dict[str, int]:
    done = FaceRetention().purge()
    get_run_logger().info(
        "retention: %d templates of %d people deleted (policy %d days)",
        done.templates_deleted,
        done.people,
        done.retention_days,
    )
    return done.as_dict()
