"""Residents enrol, replace and withdraw their own face through the city app (paper §3.1.1 (a)).

What is kept is the 128-number encoding with the consent time, never the photo: the selfie is
decoded, checked and encoded in memory and then dropped.

- Enrol: the selfie must hold exactly ONE face (no second face of any size the detector can
  find) at least `ENROLMENT_POLICY.min_face_px` wide. Each enrolment adds a template; a person
  keeps at most `MAX_APP_TEMPLATES`, and beyond that the one with the oldest consent is
  replaced. Several photos of a person raise the share of their gate attempts that are
  accepted (docs/face-matching.md: protocol B vs A).
- Replace: the new selfie becomes the person's only app template (e.g. after a change of looks).
- Withdraw: every app-registry template of the person is deleted from the table the gate reads.
  Population-registry templates are the city registry's record, imported with their source
  marked; they are not the app's to delete, and the status call says how many exist.

Encoder migration (issue 12): templates stored by the legacy dlib encoder keep opening the gate
until replaced, and `FaceStatus.reenrolment_required` asks their owner (through ``GET /faces/me``)
for a new selfie. An enrolment by the current encoder removes the person's legacy app templates:
once a current template exists, the legacy ones only add chances for a stranger.

Duplicate-face check: before a selfie is stored, it is compared with every OTHER person's
templates city-wide (each encoder's templates with that encoder's vector and rule), judged at the
size of that search, the way the gate would judge it against the whole city (`duplicate_search`):
- nearer than the rule's threshold for the city's template count (the gate would take the selfie
  for that person): refused with code ``duplicate_face`` (409) and a
  ``face.enrol.duplicate_refused`` audit record that names the other person for review by
  data-centre staff (the resident is told why, not who);
- nearer than the rule's runner-up line at that size but not that near (the grey zone: a
  look-alike, say a twin, whom the gate would refuse to tell apart from this face): stored, and a
  ``face.enrol.lookalike_review`` audit record holds the pair for review, with the same detail.
The one-template threshold is NOT used: a stranger's best of thousands of templates is far nearer
than one template's, so it would call many new residents duplicates of somebody (measured on
LFW: docs/face-matching.md section 10).

Every change (a consent given too) bumps the gallery version of each estate the person owns a home in or holds an
active grant for, so warm gate functions rebuild before their next face decision; every change
and every status read is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from gridgate.adapters.audit import AuditLog
from gridgate.adapters.grant_repository import GrantRepository
from gridgate.adapters.repositories import (
    TEMPLATE_SLOTS,
    FaceTemplateRepository,
    OwnershipRepository,
    PlaceRepository,
)
from gridgate.clock import now as city_now
from gridgate.compliance.consent_ledger import ConsentLedger
from gridgate.domain.legal_records import FaceConsent, LegalBasis, Matching
from gridgate.domain.model import CURRENT_ENCODER_ID, FaceTemplate, Registry
from gridgate.faces.matcher import RULES, galleries_by_encoder
from gridgate.faces.pipeline import FacePolicy, ProbeFace, probe_face
from gridgate.faces.rejections import FaceRejected
from gridgate.residents.consent_purposes import separate_consent
from gridgate.residents.estate_changes import person_changed_everywhere

#: Every slot a person's app templates may use (the gate reads exactly these keys).
MAX_APP_TEMPLATES = TEMPLATE_SLOTS
#: Stricter than at the gate: a template is judged against for years, so only a clear, single face.
#: ``dominance_ratio=0`` makes any second detected face (down to 40 px) refuse the selfie.
ENROLMENT_POLICY = FacePolicy(min_face_px=80, dominance_ratio=0.0)


@dataclass(frozen=True)
class EnrolledFace:
    """One stored template as the app may see it: its slot, consent time and face size, no encoding."""

    template_no: int
    consent_at: datetime
    face_px: int
    encoder: str = CURRENT_ENCODER_ID

    def as_dict(self) -> dict:
        return {
            "template_no": self.template_no,
            "consent_at": self.consent_at.isoformat(),
            "face_px": self.face_px,
            "encoder": self.encoder,
        }


@dataclass(frozen=True)
class FaceStatus:
    app: list[EnrolledFace]
    population_templates: int
    #: True while any of the person's templates (app or population) is by a legacy encoder.
    reenrolment_required: bool = False

    def as_dict(self) -> dict:
        return {
            "app_templates": [face.as_dict() for face in self.app],
            "max_app_templates": MAX_APP_TEMPLATES,
            "population_templates": self.population_templates,
            "current_encoder": CURRENT_ENCODER_ID,
            "reenrolment_required": self.reenrolment_required,
        }


class DuplicateFace(FaceRejected):
    """The selfie is another enrolled person's face: one face, one identity."""

    def __init__(self, other_person_id: str, distance: float, threshold: float, encoder_id: str) -> None:
        super().__init__("duplicate_face")
        self.other_person_id = other_person_id
        self.distance = distance
        self.threshold = threshold
        self.encoder_id = encoder_id


@dataclass(frozen=True)
class DuplicateFinding:
    """The other person nearest to a selfie city-wide, with the lines it was judged against."""

    person_id: str
    registry: Registry
    encoder_id: str
    distance: float
    city_templates: int  # every other person's templates searched, of every encoder
    threshold: float  # the rule's threshold at that size: nearer is the same face
    review_line: float  # the rule's runner-up line at that size: nearer is a look-alike

    @property
    def refused(self) -> bool:
        return self.distance < self.threshold

    def as_detail(self) -> dict:
        return {
            "matches_person": self.person_id,
            "registry": self.registry.value,
            "encoder": self.encoder_id,
            "distance": round(self.distance, 4),
            "city_templates": self.city_templates,
            "threshold": round(self.threshold, 4),
            "review_line": round(self.review_line, 4),
        }


def duplicate_search(probe: ProbeFace, others: Sequence[FaceTemplate]) -> DuplicateFinding | None:
    """The selfie against every other person's templates (`others`), judged by each encoder's rule
    at the size of the WHOLE search, as `matcher.match_probe` judges a gate probe: a refusing
    finding (nearer than the threshold) if any, else the nearest grey-zone look-alike (nearer than
    the runner-up line), else None."""
    groups = galleries_by_encoder(others)
    city = sum(group.templates for group in groups)
    found: list[DuplicateFinding] = []
    for group in groups:
        rule = RULES[group.encoder_id]
        threshold, review_line = rule.threshold(city), max(rule.runner_up_floor(city), rule.threshold(city))
        for gallery in (group.app, group.population):
            nearest = gallery.nearest(probe.encoding_for(group.encoder_id))
            if nearest is not None and nearest.distance < review_line:
                found.append(
                    DuplicateFinding(
                        nearest.person_id,
                        gallery.registry,
                        group.encoder_id,
                        nearest.distance,
                        city,
                        threshold,
                        review_line,
                    )
                )
    return min(found, key=lambda f: (not f.refused, f.distance - f.threshold), default=None)


class FaceEnrolment:
    def __init__(
        self,
        *,
        consents: ConsentLedger,
        templates: FaceTemplateRepository | None = None,
        places: PlaceRepository | None = None,
        ownerships: OwnershipRepository | None = None,
        grants: GrantRepository | None = None,
        audit: AuditLog | None = None,
        clock: Callable[[], datetime] = city_now,
    ) -> None:
        self._templates = templates or FaceTemplateRepository()
        self._places = places or PlaceRepository()
        self._ownerships = ownerships or OwnershipRepository()
        self._grants = grants or GrantRepository()
        self._audit = audit or AuditLog()
        self._consents = consents
        self._clock = clock

    def enrol(self, person_id: str, image: bytes, *, replace_all: bool, request_id: str | None) -> EnrolledFace:
        """Check the selfie and store its encoding; raises `FaceInputRejected` for an unusable image
        and `NotAllowed` ``consent_required`` when the person has no separate consent in force."""
        self._consents.require(person_id, LegalBasis.SEPARATE_CONSENT)
        probe = probe_face(image, ENROLMENT_POLICY)
        lookalike = self._refuse_duplicate(person_id, probe, request_id)
        existing = self._app_templates(person_id)
        kept = [] if replace_all else [t for t in existing if t.encoder == probe.encoder_id]
        if len(kept) < len(existing):
            # replace, or re-enrolment by the current encoder: legacy templates are retired (issue 12)
            self._templates.delete_for_person(person_id, Registry.APP)
            for template in kept:
                self._templates.add(template)
        slot = _free_or_oldest_slot(kept)
        replaced = len(existing) - len(kept) + sum(1 for t in kept if t.template_no == slot)
        consent_at = self._clock()
        self._templates.add(
            FaceTemplate(
                person_id=person_id,
                source=Registry.APP,
                template_no=slot,
                encoding=np.asarray(probe.encoding, dtype="<f4").tobytes(),
                consent_at=consent_at,
                quality=float(probe.face_px),
                encoder=probe.encoder_id,
            )
        )
        estates = self._invalidate_galleries(person_id)
        self._audit.record(
            person_id,
            "face.replace" if replace_all else "face.enrol",
            f"person#{person_id}",
            request_id=request_id,
            detail={
                "template_no": slot,
                "face_px": probe.face_px,
                "templates_replaced": replaced,
                "estates_refreshed": sorted(estates),
            },
        )
        if lookalike is not None:
            self._audit.record(
                person_id,
                "face.enrol.lookalike_review",
                f"person#{person_id}",
                request_id=request_id,
                detail={"reason": "lookalike", "template_no": slot, **lookalike.as_detail(), "review": "pending"},
            )
        return EnrolledFace(slot, consent_at, probe.face_px, probe.encoder_id)

    def give_consent(
        self,
        person_id: str,
        *,
        estates: frozenset[str],
        matching: Matching,
        notice_version: str,
        guardian_person_id: str | None,
        request_id: str | None,
    ) -> FaceConsent:
        """Record a separate consent for the estates the person lives at or holds a grant for;
        an estate the caller has no right at is refused (``estate_not_yours``), not silently kept.
        The latest consent's purposes are the ones that hold (`compliance.face_purposes`)."""
        consent = separate_consent(
            person_id,
            estates,
            self._ownerships,
            self._grants,
            matching=matching,
            notice_version=notice_version,
            at=self._clock(),
            guardian_person_id=guardian_person_id,
        )
        recorded = self._consents.record(consent, request_id=request_id)
        # Its purposes replace the earlier consent's: every gallery that may hold the face follows
        # at its next decision (a delta), and stored snapshots are rebuilt.
        self._invalidate_galleries(person_id)
        return recorded

    def _refuse_duplicate(self, person_id: str, probe: ProbeFace, request_id: str | None) -> DuplicateFinding | None:
        """Raise `DuplicateFace` (audited) when the selfie is another person's enrolled face; return
        the grey-zone look-alike to hold for review (None when there is none)."""
        finding = duplicate_search(probe, [t for t in self._templates.everyone() if t.person_id != person_id])
        if finding is not None and finding.refused:
            self._audit.record(
                person_id,
                "face.enrol.duplicate_refused",
                f"person#{person_id}",
                request_id=request_id,
                detail={"reason": "duplicate_face", **finding.as_detail(), "review": "held"},
            )
            raise DuplicateFace(finding.person_id, finding.distance, finding.threshold, finding.encoder_id)
        return finding

    def withdraw(self, person_id: str, *, request_id: str | None) -> int:
        """Withdraw the person's consent and, in the same action, delete every app-registry template;
        returns how many templates were deleted."""
        self._consents.withdraw(person_id, request_id=request_id)
        removed = self._templates.delete_for_person(person_id, Registry.APP)
        estates = self._invalidate_galleries(person_id)
        self._audit.record(
            person_id,
            "face.withdraw",
            f"person#{person_id}",
            request_id=request_id,
            detail={"removed": removed, "estates_refreshed": sorted(estates)},
        )
        return removed

    def status(self, person_id: str, *, request_id: str | None) -> FaceStatus:
        templates = self._templates.for_person(person_id)
        self._audit.record(person_id, "face.status.read", f"person#{person_id}", request_id=request_id)
        app = sorted(
            (
                EnrolledFace(t.template_no, t.consent_at, int(t.quality), t.encoder)
                for t in templates
                if t.source == Registry.APP
            ),
            key=lambda face: face.template_no,
        )
        return FaceStatus(
            app,
            sum(1 for t in templates if t.source == Registry.POPULATION),
            reenrolment_required=any(t.needs_reenrolment for t in templates),
        )

    def _app_templates(self, person_id: str) -> list[FaceTemplate]:
        return [t for t in self._templates.for_person(person_id) if t.source == Registry.APP]

    def _invalidate_galleries(self, person_id: str) -> set[str]:
        return person_changed_everywhere(person_id, self._ownerships, self._grants, self._places)


def _free_or_oldest_slot(existing: list[FaceTemplate]) -> int:
    used = {t.template_no for t in existing}
    free = [n for n in range(MAX_APP_TEMPLATES) if n not in used]
    if free:
        return free[0]
    return min(existing, key=lambda t: t.consent_at).template_no
