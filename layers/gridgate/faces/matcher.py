"""The calibrated face decision: who (if anyone) a probe face is, searched the way the paper says.

Paper §3.1.3: the gate matches a face first against the app registry's faces of the people with
a right to this estate and, where there is none or that match fails, against the population
registry's faces. Each registry is one `Gallery`; `match` runs the two stages and says which
registry matched, with the distance and margin that explain the decision.

The decision rule (`DecisionRule`), calibrated in bench/bench_face_calibration.py on real photos
(docs/face-matching.md has the numbers and how they were obtained):
- distance: a person's distance is that of their NEAREST enrolled template (several templates
  per person cover more poses and lighting); the nearest person must be closer than a
  threshold that depends on how many templates are searched: the distance at which a
  stranger's chance of passing against the whole search is 0.1 %, from a normal fitted to the
  lower tail of the distances between different people's faces. It is 0.58 for one template,
  0.50 for 50, 0.44 for 1,000 and 0.38 for 50,000;
- margin: the next nearest DIFFERENT person must be at least `margin` further away, so a face
  that sits between two enrolled people is attributed to neither.
face_recognition's default tolerance (0.6) is kept as `BASELINE_RULE` only for comparison: on
the test photos it let 24 % of strangers through against ~46 enrolled people (several photos each).

Everything is one matrix-vector product per gallery (no Python loop over people), so a decision
against 50,000 enrolled people stays in the millisecond range.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Iterable, Sequence

import numpy as np

from gridgate.domain.model import FaceTemplate, Registry

ENCODING_DIM = 128


@dataclass(frozen=True)
class DecisionRule:
    """Accept the nearest person only if close enough and clearly nearer than anyone else.

    "Close enough" depends on how many templates are searched. A stranger is let in when ANY of
    the G searched templates is nearer than the threshold, about ``1 - (1 - p)^G`` for a per-
    template chance p, so a fixed threshold that is safe against 50 templates lets many strangers
    in against 5,000. With `impostor_location`/`impostor_scale` set (the normal that fits the lower
    tail of the distances between different people's faces, measured by the calibration
    benchmark; the tail is where the threshold lies), the threshold is
    the distance at which a stranger's chance of passing against the whole search is
    `target_stranger_accept`; it never exceeds `max_threshold`. Without them the threshold is
    simply `max_threshold` (face_recognition's fixed tolerance).
    """

    max_threshold: float
    margin: float = 0.0
    impostor_location: float | None = None
    impostor_scale: float | None = None
    target_stranger_accept: float = 0.001

    def threshold(self, templates: int) -> float:
        """The distance below which a match is accepted, when `templates` templates are searched."""
        if self.impostor_location is None or self.impostor_scale is None:
            return self.max_threshold
        per_template = -math.expm1(math.log1p(-self.target_stranger_accept) / max(int(templates), 1))
        modelled = self.impostor_location + self.impostor_scale * NormalDist().inv_cdf(per_template)
        return min(self.max_threshold, modelled)

    def accepts(self, distance, runner_up, templates):
        """Works on floats and on numpy arrays alike (the calibration evaluates thousands at once)."""
        sizes = np.asarray(templates)
        thresholds = np.vectorize(self.threshold, otypes=[float])(sizes) if sizes.ndim else self.threshold(int(sizes))
        distance = np.asarray(distance)
        return (distance < thresholds) & (np.asarray(runner_up) - distance >= self.margin)


#: face_recognition's default ``tolerance=0.6``: the uncalibrated rule, kept for comparison.
BASELINE_RULE = DecisionRule(max_threshold=0.6)
#: The rule the gate uses. Values from bench/bench_face_calibration.py (docs/face-matching.md).
CALIBRATED_RULE = DecisionRule(max_threshold=0.6, margin=0.04, impostor_location=0.8344, impostor_scale=0.0823)


class MatchReason(str, enum.Enum):
    MATCHED = "matched"
    NO_TEMPLATES = "no_templates"  # nobody with a right here has an enrolled face
    NO_MATCH = "no_match"  # the nearest person is further than the threshold
    AMBIGUOUS_MATCH = "ambiguous_match"  # close enough, but another person is nearly as close


@dataclass(frozen=True)
class Candidates:
    """The nearest and the second-nearest different person of one gallery, with their distances."""

    person_id: str
    distance: float
    runner_up_id: str | None
    runner_up_distance: float  # inf when the gallery holds one person only

    @property
    def margin(self) -> float | None:
        """None when there is no second person (a JSON-safe stand-in for an infinite margin)."""
        return None if self.runner_up_id is None else self.runner_up_distance - self.distance


@dataclass(frozen=True)
class FaceMatch:
    """The outcome of matching one probe: who (or None), from which registry, and why.

    On a deny, `person_id` and `registry` are None (nobody is attributed a face the rule did not
    accept); `distance`/`margin` are those of the nearest candidate, to explain how far off it was.
    `score` is ``1 - distance`` (higher is more alike); the rule accepts above ``1 - threshold``.
    """

    person_id: str | None
    registry: Registry | None
    distance: float | None
    margin: float | None
    threshold: float  # the distance the rule accepted below, for this gallery size
    accepted: bool
    reason: MatchReason

    @property
    def score(self) -> float | None:
        return None if self.distance is None else round(1.0 - self.distance, 4)


class Gallery:
    """One registry's enrolled templates for a set of people, stacked for one-shot distance search.

    Templates are stored grouped by person (contiguous rows), so the nearest template of every
    person is one ``np.minimum.reduceat`` over the distance vector.
    """

    def __init__(self, registry: Registry, person_ids: Sequence[str], encodings: np.ndarray) -> None:
        """`person_ids[i]` owns row `i` of `encodings` (any order; rows are regrouped here)."""
        encodings = np.asarray(encodings, dtype=np.float32).reshape(-1, ENCODING_DIM)
        if len(person_ids) != len(encodings):
            raise ValueError("one person id per template row is required")
        self.registry = registry
        owners = np.asarray(person_ids, dtype=object)
        order = np.argsort(owners, kind="stable") if len(owners) else np.zeros(0, dtype=int)
        owners = owners[order]
        self._templates = np.ascontiguousarray(encodings[order])
        self._square_norms = np.einsum("ij,ij->i", self._templates, self._templates)
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]) if len(owners) else np.zeros(0, dtype=int)
        self._starts = starts
        self.person_ids: tuple[str, ...] = tuple(str(owner) for owner in owners[starts])

    @classmethod
    def from_templates(cls, registry: Registry, templates: Iterable[FaceTemplate]) -> "Gallery":
        """The gallery of `registry` from stored templates (templates of other sources are left out)."""
        chosen = [t for t in templates if t.source == registry]
        matrix = np.frombuffer(b"".join(t.encoding for t in chosen), dtype="<f4").reshape(-1, ENCODING_DIM)
        return cls(registry, [t.person_id for t in chosen], matrix)

    @classmethod
    def empty(cls, registry: Registry) -> "Gallery":
        return cls(registry, [], np.zeros((0, ENCODING_DIM), dtype=np.float32))

    @property
    def people(self) -> int:
        return len(self.person_ids)

    @property
    def templates(self) -> int:
        return len(self._templates)

    def nearest(self, probe: np.ndarray) -> Candidates | None:
        """The two nearest different people (None for an empty gallery)."""
        if not self.person_ids:
            return None
        probe = np.asarray(probe, dtype=np.float32).reshape(ENCODING_DIM)
        squared = self._square_norms - 2.0 * (self._templates @ probe) + float(probe @ probe)
        per_person = np.minimum.reduceat(squared, self._starts)
        if len(per_person) == 1:
            return Candidates(self.person_ids[0], _distance(per_person[0]), None, float("inf"))
        first, second = np.argpartition(per_person, 1)[:2]
        if per_person[second] < per_person[first]:
            first, second = second, first
        return Candidates(
            self.person_ids[first],
            _distance(per_person[first]),
            self.person_ids[second],
            _distance(per_person[second]),
        )


def _distance(squared: float) -> float:
    return float(np.sqrt(max(float(squared), 0.0)))


def match(
    probe: np.ndarray,
    app: Gallery,
    population: Gallery,
    rule: DecisionRule = CALIBRATED_RULE,
) -> FaceMatch:
    """App registry first; the population registry only when the app stage did not accept."""
    # A stranger gets one chance per template in EITHER registry: both stages use the threshold
    # for the whole search, so the two-stage order does not add to the stranger-accept rate.
    threshold = rule.threshold(app.templates + population.templates)
    found = [(gallery.registry, gallery.nearest(probe)) for gallery in (app, population)]
    found = [(registry, candidates) for registry, candidates in found if candidates is not None]
    for registry, candidates in found:
        if candidates.distance < threshold and candidates.runner_up_distance - candidates.distance >= rule.margin:
            return FaceMatch(
                person_id=candidates.person_id,
                registry=registry,
                distance=candidates.distance,
                margin=candidates.margin,
                threshold=threshold,
                accepted=True,
                reason=MatchReason.MATCHED,
            )
    if not found:
        return FaceMatch(None, None, None, None, threshold, accepted=False, reason=MatchReason.NO_TEMPLATES)
    nearest = min((candidates for _, candidates in found), key=lambda c: c.distance)
    return FaceMatch(
        person_id=None,
        registry=None,
        distance=nearest.distance,
        margin=nearest.margin,
        threshold=threshold,
        accepted=False,
        reason=MatchReason.AMBIGUOUS_MATCH if nearest.distance < threshold else MatchReason.NO_MATCH,
    )
