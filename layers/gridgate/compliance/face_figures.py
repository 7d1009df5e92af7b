"""The compliance figures of faces, counted from the stored templates and consents (issue 18).

Why counted, never typed in: the filing duty of the 2025 CAC/MPS face measures (Art. 15) starts
when the face data of 100,000 people is held, and a figure someone types drifts from the data.
A person counts once however many templates (app or registry) they have.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from gridgate.domain.legal_records import FaceConsent, LegalBasis
from gridgate.domain.model import FaceTemplate, Registry

#: People whose faces are held at which the provincial cyberspace filing is due (Art. 15).
FILING_THRESHOLD_PEOPLE = 100_000
#: The basis each registry's templates are held on: app faces by separate consent, the
#: actual-population registry's by statute.
BASIS_OF_REGISTRY = {Registry.APP: LegalBasis.SEPARATE_CONSENT, Registry.POPULATION: LegalBasis.STATUTE}


@dataclass(frozen=True)
class FaceFigures:
    people_with_faces: int
    templates_by_basis: dict[str, int]
    consents_in_force: int
    consents_withdrawn: int
    #: app templates whose owner has no consent in force (should be 0: a withdrawal deletes them)
    app_templates_without_consent: int

    @property
    def filing_due(self) -> bool:
        return self.people_with_faces >= FILING_THRESHOLD_PEOPLE


def face_figures(templates: Iterable[FaceTemplate], consents: Iterable[FaceConsent], at: datetime) -> FaceFigures:
    templates, consents = list(templates), list(consents)
    consenting = {c.person_id for c in consents if c.in_force(at)}
    by_basis = Counter(BASIS_OF_REGISTRY[t.source].value for t in templates)
    return FaceFigures(
        people_with_faces=len({t.person_id for t in templates}),
        templates_by_basis={basis.value: by_basis.get(basis.value, 0) for basis in LegalBasis},
        # one per person and basis: records stored before supersession was recorded count once too
        consents_in_force=len({(c.person_id, c.basis) for c in consents if c.in_force(at)}),
        consents_withdrawn=sum(1 for c in consents if c.withdrawn_at is not None and c.withdrawn_at <= at),
        app_templates_without_consent=sum(
            1 for t in templates if t.source == Registry.APP and t.person_id not in consenting
        ),
    )
