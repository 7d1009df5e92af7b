"""Answers of the issue-18 endpoints beside the flow queries: a resident's face opt-out (and, for
data-center and correction staff, what the compliance wing reports), as pydantic models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class FaceOptOutAnswer(BaseModel):
    """Face is off for this person: every template deleted, every gallery told; the QR still opens."""

    person_id: str
    opted_out_at: str
    templates_removed: int
    consents_withdrawn: int
    estates_refreshed: list[str]
    entry_by: Literal["resident_qr"]
