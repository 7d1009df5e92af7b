"""Which of a person's face templates an estate's gates may match, and where: their consent's purposes.

A separate consent (PIPL Arts. 28-29) names the estates whose gates may use the face and where it
may be matched (`Matching`: in the cloud, or only on the gate device; 2025 CAC/MPS face measures
Art. 8). Recording them is not enough: every copy a gate matches from (the cloud's warm gallery,
its delta path, the estate's stored object and the gate's signed offline snapshot) keeps only the
templates this rule lets through, so a face is matched exactly where its owner said.

- An app-registry template is matched at an estate only while the person's **latest** separate
  consent in force names that estate (a new consent replaces the purposes of the earlier one: a
  consent narrowed from A+B to A stops matching at B; a withdrawal ends them all). Where the match
  runs: the cloud only on a ``cloud`` consent; the gate device (`FaceMatching.DEVICE`: an estate whose
  gates match from their snapshot) on either.
- A population-registry template is held on the statute named on its record
  (`POPULATION_REGISTRY_STATUTE`, PIPL Art. 13 (3)), not on a consent: its own rule is the person's
  right at the estate (the gallery's membership), at every estate and in both places; a person who
  wants none of it opts out of face (`residents.face_opt_out`), which deletes those templates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from gridgate.domain.legal_records import FaceConsent, LegalBasis, Matching
from gridgate.domain.model import FaceMatching, FaceTemplate, Registry


def governing_consent(consents: Iterable[FaceConsent], at: datetime) -> FaceConsent | None:
    """The person's latest separate consent in force at `at` (its purposes are the ones that hold)."""
    held = [c for c in consents if c.basis == LegalBasis.SEPARATE_CONSENT and c.in_force(at)]
    return max(held, key=lambda c: c.given_at, default=None)


def may_match(
    template: FaceTemplate, consents: Sequence[FaceConsent], estate_id: str, at: datetime, where: FaceMatching
) -> bool:
    """Whether `template` may be matched at `estate_id` at `at`, by the cloud or on the gate device."""
    if template.source == Registry.POPULATION:
        return True
    consent = governing_consent(consents, at)
    return (
        consent is not None
        and estate_id in consent.estates
        and (where == FaceMatching.DEVICE or consent.matching == Matching.CLOUD)
    )


def consented_templates(
    templates: Iterable[FaceTemplate],
    consents: Mapping[str, Sequence[FaceConsent]],
    estate_id: str,
    at: datetime,
    where: FaceMatching,
) -> list[FaceTemplate]:
    """The templates (of any people) that may be matched at `estate_id`; `consents`: by person id,
    needed for everyone with an app-registry template among them (a person missing has none)."""
    return [t for t in templates if may_match(t, consents.get(t.person_id, ()), estate_id, at, where)]


def people_needing_consent(templates: Iterable[FaceTemplate]) -> list[str]:
    """Whose consents must be read to judge `templates`: the owners of app-registry ones."""
    return sorted({t.person_id for t in templates if t.source == Registry.APP})
