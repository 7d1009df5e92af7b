"""Which face templates are held past the retention policy: one rule for the report and the purge.

The 2025 CAC/MPS face measures (Art. 8) and PIPL Art. 19 ask that face information be kept no
longer than its purpose needs. A template's age runs from its consent (an app enrolment's consent,
or the registry import's statutory record); past `face_template_retention_days` it must be
re-confirmed by a new enrolment (or a new registry import) or deleted. The compliance report
counts what this rule names; the nightly purge (`gridgate.residents.face_retention`) deletes it, so
the report's count is 0 after each night.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from gridgate.domain.model import FaceTemplate


def age_days(template: FaceTemplate, at: datetime) -> int:
    """Whole days since the template's consent."""
    return (at - template.consent_at).days


def past_retention(templates: Iterable[FaceTemplate], at: datetime, retention_days: int) -> list[FaceTemplate]:
    """The templates held longer than `retention_days` whole days at `at`."""
    return [t for t in templates if age_days(t, at) > retention_days]
