"""The calibrated face decision: who (if anyone) a probe face is, searched the way the paper says.

Paper §3.1.3: the gate matches a face first against the app registry's faces of the people with
a right to this estate and, where there is none or that match fails, against the population
registry's faces. Each registry is one `Gallery`; `match` runs the two stages and says which
registry matched, with the distance and margin that explain the decision.

One rule per encoder (`RULES`): a probe is only compared with templates of its own encoder
(`EncoderGalleries`, `match_probe`). The SFace rule (`SFACE_RULE`) takes its thresholds from what
measured stranger searches against LFW galleries of 1 to ~1,800 people SAW: the tail of a
stranger's best cosine over a gallery of G templates (`MaximumTail`), and it refuses a face when a
second person is a plausible match too (`DecisionRule.runner_up_floor`; bench/bench_face_scale.py,
docs/face-matching.md section 10). The legacy dlib rule (`LEGACY_RULE`), calibrated in
bench/bench_face_calibration.py
on the 47 people of testdata/faces, is the model-based form:
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
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from gridgate.domain.model import CURRENT_ENCODER_ID, LEGACY_ENCODER_ID, RETIRED_ENCODER_IDS, FaceTemplate, Registry

ENCODING_DIM = 128


@dataclass(frozen=True)
class MaximumTail:
    """How often a stranger's BEST cosine over a gallery of G templates reaches a value: what one
    decision actually sees.

    Measured on stranger searches against galleries of several sizes (bench/bench_face_scale.py
    `fit_maximum_tail`): `points` holds, per measured size (templates searched), the best cosine's
    (1 - `rate`) quantile; above it the tail is exponential with mean excess `scale`, pooled over
    the sizes (the generalised Pareto tail of shape 0, the upper tail of the Gumbel law of a
    maximum), so the cosine reached with chance ``level`` is ``quantile + scale * ln(rate / level)``.
    Between measured sizes the quantile is interpolated linearly in ln G (the Gumbel location of a
    maximum over G moves linearly in ln G). Beyond the largest, nothing is extrapolated along a
    fitted line: a gallery of G templates is G / G_max galleries of the largest measured size, and
    a stranger passes it only if they pass one of them, so the chance is at most G / G_max times
    the chance measured there (the union bound over blocks, true for look-alikes too): the cosine
    rises by ``scale * ln(G / G_max)``. Look-alikes (twins, near-twins), whose pairs make the tail
    of single pairs heavier than any fit of pairs predicts, are in the measurements. For unit
    vectors ``cos = 1 - distance^2 / 2``.
    """

    rate: float  # the share of strangers above each quantile (where the exponential starts)
    scale: float  # the mean excess of those strangers' best cosine over the quantile
    points: tuple[tuple[int, float], ...]  # (templates searched, quantile), by size
    #: The largest gallery's measured upper tail, highest first: the best cosine of the k-th most
    #: alike stranger there is ``deepest[k - 1]``, out of `attempts` (the union bound beyond it).
    deepest: tuple[float, ...] = ()
    attempts: int = 0

    def similarity_at(self, templates: int, level: float) -> float:
        """The cosine a stranger's best template out of `templates` reaches with chance `level`."""
        sizes = [math.log(size) for size, _ in self.points]
        at = math.log(max(templates, 1))
        quantile = float(np.interp(at, sizes, [quantile for _, quantile in self.points]))
        modelled = quantile + self.scale * (math.log(self.rate / level) + max(at - sizes[-1], 0.0))
        if at <= sizes[-1] or not self.deepest:
            return modelled
        # G / G_max blocks of the largest gallery: each may let in at most level * G_max / G, read
        # off the most alike strangers measured there; never looser than at G_max itself
        at_largest = quantile + self.scale * math.log(self.rate / level)
        rank = level * math.exp(sizes[-1] - at) * self.attempts
        if rank >= 1:
            return max(at_largest, self.deepest[min(int(rank), len(self.deepest)) - 1])
        return max(at_largest, self.deepest[0] + self.scale * math.log(1.0 / rank))


def _distance_of(similarity: float) -> float:
    return math.sqrt(max(2.0 - 2.0 * similarity, 0.0))


@dataclass(frozen=True)
class DecisionRule:
    """Accept the nearest person only if close enough and nobody else is a plausible match too.

    "Close enough" depends on how many templates are searched: a stranger is let in when ANY of
    the G searched templates is near enough, so a threshold that is safe against 50 templates lets
    many strangers in against 5,000. Three forms:
    - measured (`tail`, SFace): the threshold is where the stranger's best cosine over G templates
      (`MaximumTail`) is reached with chance `target_stranger_accept`, per decision;
    - modelled (`impostor_location`/`impostor_scale`, legacy dlib): a normal fitted to the lower
      tail of the distances between different people's faces, turned into a per-decision chance by
      ``1 - (1 - p)^G``;
    - neither: `max_threshold` (face_recognition's fixed tolerance).
    The threshold never exceeds `max_threshold`.

    "Nobody else": the second-nearest DIFFERENT person must be at least `margin` further away, and,
    with `ambiguity_level` set (measured form only), not within the line a stranger's best reaches
    with chance `ambiguity_level`: two different people both that alike to one face means the face
    is a look-alike of at least one of them, and the gate cannot know which (`runner_up_floor`).
    This is what keeps a resident from being let in as someone else.
    """

    max_threshold: float
    margin: float = 0.0
    impostor_location: float | None = None
    impostor_scale: float | None = None
    target_stranger_accept: float = 0.001
    #: The measured form (SFace): the tail of a stranger's best cosine over G templates, fitted on
    #: measured stranger searches (bench/bench_face_scale.py). Takes precedence over the normal.
    tail: MaximumTail | None = None
    #: The runner-up line's level (measured form): a second person a stranger's best reaches only
    #: with this chance makes the decision ambiguous. None: no runner-up line.
    ambiguity_level: float | None = None

    def threshold(self, templates: int) -> float:
        """The distance below which the nearest person is accepted, when `templates` are searched."""
        templates = max(int(templates), 1)
        if self.tail is not None:
            similarity = self.tail.similarity_at(templates, self.target_stranger_accept)
            return min(self.max_threshold, _distance_of(similarity))
        if self.impostor_location is None or self.impostor_scale is None:
            return self.max_threshold
        per_template = -math.expm1(math.log1p(-self.target_stranger_accept) / templates)
        modelled = self.impostor_location + self.impostor_scale * NormalDist().inv_cdf(per_template)
        return min(self.max_threshold, modelled)

    def runner_up_floor(self, templates: int) -> float:
        """The distance the second-nearest different person must reach for the match to be clear
        (0 without a runner-up line): below it, two people are plausible and neither is accepted."""
        if self.tail is None or self.ambiguity_level is None:
            return 0.0
        return _distance_of(self.tail.similarity_at(max(int(templates), 1), self.ambiguity_level))

    def accepts(self, distance, runner_up, templates):
        """The decision, on floats and on numpy arrays alike: the gate decides one probe with it, the
        calibration benchmark thousands at once (one code path for both)."""
        sizes = np.asarray(templates)
        if sizes.ndim:
            unique, inverse = np.unique(sizes, return_inverse=True)
            thresholds = np.array([self.threshold(int(g)) for g in unique])[inverse]
            floors = np.array([self.runner_up_floor(int(g)) for g in unique])[inverse]
        else:
            thresholds = np.asarray(self.threshold(int(sizes)))
            floors = np.asarray(self.runner_up_floor(int(sizes)))
        distance, runner_up = np.asarray(distance), np.asarray(runner_up)
        return (distance < thresholds) & (runner_up - distance >= self.margin) & (runner_up >= floors)


#: face_recognition's default ``tolerance=0.6``: the uncalibrated rule, kept for comparison.
BASELINE_RULE = DecisionRule(max_threshold=0.6)
#: The legacy dlib templates' rule. Values from bench/bench_face_calibration.py (docs/face-matching.md).
LEGACY_RULE = DecisionRule(max_threshold=0.6, margin=0.04, impostor_location=0.8344, impostor_scale=0.0823)
#: The SFace rule the gate uses: fitted by bench/bench_face_scale.py on ALL LFW identities with the
#: same procedure whose held-out results docs/face-matching.md reports (``--fit-only`` prints it).
#: Beyond 3,000 templates the threshold comes from the most alike strangers measured there by the
#: union bound over blocks: LFW's look-alike pairs then set it, which is why residents are rarely let
#: in at 4,000 people and more (docs/face-matching.md section 10).
SFACE_RULE = DecisionRule(
    max_threshold=2.0,
    margin=0.01,
    target_stranger_accept=0.0002,
    tail=MaximumTail(
        rate=0.0005,
        scale=0.06824,
        points=(
            (1, 0.37463),
            (10, 0.43283),
            (100, 0.47077),
            (300, 0.50417),
            (1000, 0.54131),
            (1800, 0.56869),
            (3000, 0.70419),
        ),
        # the 40 most alike of 29,392 stranger searches against 3,000 people (the same look-alike
        # pairs come back in several draws: the Moraes twins 0.778, Jeff Roehm / Harold Scott 0.768,
        # the Mowry twins 0.732, Jason Kapono / Ray Young 0.704)
        deepest=(
            0.77796,
            0.77796,
            0.77796,
            0.76789,
            0.76789,
            0.76789,
            0.76789,
            0.73168,
            0.73168,
            0.73168,
            0.73168,
            0.73168,
            0.73168,
            0.70419,
            0.70419,
            0.70419,
            0.70411,
            0.70411,
            0.70411,
            0.70411,
            0.70411,
            0.56869,
            0.56869,
            0.56869,
            0.56026,
            0.56026,
            0.56026,
            0.56026,
            0.55877,
            0.55877,
            0.55877,
            0.55877,
            0.55877,
            0.54191,
            0.54191,
            0.54191,
            0.54191,
            0.54131,
            0.54131,
            0.54131,
        ),
        attempts=29392,
    ),
    ambiguity_level=0.0005,
)
#: One rule per encoder: a distance means something only against its own encoder's calibration.
RULES: dict[str, DecisionRule] = {CURRENT_ENCODER_ID: SFACE_RULE, LEGACY_ENCODER_ID: LEGACY_RULE}
#: The rule for the current encoder's vectors (what bare-vector callers such as the tests use).
CALIBRATED_RULE = SFACE_RULE


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
    encoder_id: str | None = None  # whose vectors decided (None when no template was searched)

    @property
    def score(self) -> float | None:
        return None if self.distance is None else round(1.0 - self.distance, 4)


class Gallery:
    """One registry's enrolled templates for a set of people, stacked for one-shot distance search.

    Templates are stored grouped by person (contiguous rows), so the nearest template of every
    person is one ``np.minimum.reduceat`` over the distance vector.
    """

    def __init__(
        self,
        registry: Registry,
        person_ids: Sequence[str],
        encodings: np.ndarray,
        encoder_id: str = CURRENT_ENCODER_ID,
    ) -> None:
        """`person_ids[i]` owns row `i` of `encodings` (any order; rows are regrouped here), all made
        by `encoder_id`."""
        encodings = np.asarray(encodings, dtype=np.float32).reshape(-1, ENCODING_DIM)
        if len(person_ids) != len(encodings):
            raise ValueError("one person id per template row is required")
        self.registry = registry
        self.encoder_id = encoder_id
        owners = np.asarray(person_ids, dtype=object)
        order = np.argsort(owners, kind="stable") if len(owners) else np.zeros(0, dtype=int)
        owners = owners[order]
        self._templates = np.ascontiguousarray(encodings[order])
        self._square_norms = np.einsum("ij,ij->i", self._templates, self._templates)
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]) if len(owners) else np.zeros(0, dtype=int)
        self._starts = starts
        self.person_ids: tuple[str, ...] = tuple(str(owner) for owner in owners[starts])

    @classmethod
    def from_templates(
        cls, registry: Registry, templates: Iterable[FaceTemplate], encoder_id: str = CURRENT_ENCODER_ID
    ) -> Gallery:
        """The gallery of `registry` and `encoder_id` from stored templates (others are left out)."""
        chosen = [t for t in templates if t.source == registry and t.encoder == encoder_id]
        matrix = np.frombuffer(b"".join(t.encoding for t in chosen), dtype="<f4").reshape(-1, ENCODING_DIM)
        return cls(registry, [t.person_id for t in chosen], matrix, encoder_id)

    def replacing(self, people: Collection[str], templates: Iterable[FaceTemplate]) -> Gallery:
        """This gallery with the rows of `people` replaced by their `templates` (those of this
        registry and encoder): everyone else's rows are kept as they are grouped, the new ones are
        appended grouped by person. A change of a few people costs array copies, not a regrouping
        of the whole estate (an estate gallery's delta, `gridgate.gate.estate_gallery`)."""
        counts = np.diff(np.r_[self._starts, len(self._templates)])
        kept_people = np.fromiter((pid not in people for pid in self.person_ids), dtype=bool, count=self.people)
        kept_rows = np.repeat(kept_people, counts)
        mine = (t for t in templates if t.source == self.registry and t.encoder == self.encoder_id)
        chosen = sorted((t for t in mine if t.person_id in people), key=lambda t: t.person_id)
        added = np.frombuffer(b"".join(t.encoding for t in chosen), dtype="<f4").reshape(-1, ENCODING_DIM)
        added_owners = [t.person_id for t in chosen]
        added_starts = [n for n, pid in enumerate(added_owners) if n == 0 or pid != added_owners[n - 1]]
        kept_counts = counts[kept_people]
        kept_starts = np.r_[0, np.cumsum(kept_counts)[:-1]] if len(kept_counts) else np.zeros(0, dtype=int)
        gallery = Gallery.__new__(Gallery)
        gallery.registry, gallery.encoder_id = self.registry, self.encoder_id
        gallery._templates = np.ascontiguousarray(np.concatenate([self._templates[kept_rows], added]))
        gallery._square_norms = np.concatenate(
            [self._square_norms[kept_rows], np.einsum("ij,ij->i", added, added).astype(self._square_norms.dtype)]
        )
        gallery._starts = np.r_[kept_starts, np.asarray(added_starts, dtype=int) + int(kept_rows.sum())].astype(int)
        gallery.person_ids = tuple(
            [pid for pid, kept in zip(self.person_ids, kept_people) if kept] + [added_owners[n] for n in added_starts]
        )
        return gallery

    @classmethod
    def empty(cls, registry: Registry, encoder_id: str = CURRENT_ENCODER_ID) -> Gallery:
        return cls(registry, [], np.zeros((0, ENCODING_DIM), dtype=np.float32), encoder_id)

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


@dataclass(frozen=True)
class EncoderGalleries:
    """The app and population galleries of ONE encoder: a probe meets them only in that encoder."""

    encoder_id: str
    app: Gallery
    population: Gallery

    @classmethod
    def from_templates(cls, encoder_id: str, templates: Sequence[FaceTemplate]) -> EncoderGalleries:
        return cls(
            encoder_id,
            Gallery.from_templates(Registry.APP, templates, encoder_id),
            Gallery.from_templates(Registry.POPULATION, templates, encoder_id),
        )

    @property
    def templates(self) -> int:
        return self.app.templates + self.population.templates


def galleries_by_encoder(templates: Sequence[FaceTemplate]) -> tuple[EncoderGalleries, ...]:
    """The current encoder's galleries first, then those of every other encoder present (legacy).

    Templates of a retired encoder id (`RETIRED_ENCODER_IDS`) are left out: no code makes probes
    of that encoder any more, and a probe is never compared across encoders."""
    present = {t.encoder for t in templates} - RETIRED_ENCODER_IDS
    order = [CURRENT_ENCODER_ID, *sorted(present - {CURRENT_ENCODER_ID})]
    return tuple(EncoderGalleries.from_templates(encoder_id, templates) for encoder_id in order)


def match(
    probe: np.ndarray,
    app: Gallery,
    population: Gallery,
    rule: DecisionRule = CALIBRATED_RULE,
) -> FaceMatch:
    """App registry first; the population registry only when the app stage did not accept.

    `probe` is one vector of the galleries' encoder."""
    # A stranger gets one chance per template in EITHER registry: both stages use the threshold
    # for the whole search, so the two-stage order does not add to the stranger-accept rate.
    templates = app.templates + population.templates
    threshold = rule.threshold(templates)
    found = [(gallery, gallery.nearest(probe)) for gallery in (app, population)]
    return _decide(
        [(gallery, candidates, rule, threshold, templates) for gallery, candidates in found if candidates is not None]
    )


def match_probe(probe, galleries: Sequence[EncoderGalleries], rules: dict[str, DecisionRule] = RULES) -> FaceMatch:
    """A `ProbeFace` against galleries of several encoders, each with its own vector and rule.

    Order: app registry (current encoder, then legacy), then population registry. Every rule's
    threshold is taken for ALL templates searched, of every encoder: a stranger gets one chance per
    template whichever encoder made it, so a migration never widens the stranger-accept rate.
    The legacy encoding is only computed when legacy templates exist (`ProbeFace.encoding_for`).
    """
    total = sum(g.templates for g in galleries)
    stages = []
    for registry in (Registry.APP, Registry.POPULATION):
        for group in galleries:
            gallery = group.app if registry == Registry.APP else group.population
            if not gallery.templates:
                continue
            rule = rules[group.encoder_id]
            candidates = gallery.nearest(probe.encoding_for(group.encoder_id))
            stages.append((gallery, candidates, rule, rule.threshold(total), total))
    if not stages:
        return _decide([], default_threshold=rules[CURRENT_ENCODER_ID].threshold(total))
    return _decide(stages)


def _decide(stages: list, default_threshold: float | None = None) -> FaceMatch:
    """The first stage whose nearest person its rule accepts (`DecisionRule.accepts`) is the match;
    else a deny that explains how near the nearest candidate (by its encoder's threshold) came.
    Each stage is (gallery, candidates, rule, threshold, templates searched in all)."""
    for gallery, candidates, rule, threshold, templates in stages:
        if rule.accepts(candidates.distance, candidates.runner_up_distance, templates):
            return FaceMatch(
                person_id=candidates.person_id,
                registry=gallery.registry,
                distance=candidates.distance,
                margin=candidates.margin,
                threshold=threshold,
                accepted=True,
                reason=MatchReason.MATCHED,
                encoder_id=gallery.encoder_id,
            )
    if not stages:
        threshold = CALIBRATED_RULE.max_threshold if default_threshold is None else default_threshold
        return FaceMatch(None, None, None, None, threshold, accepted=False, reason=MatchReason.NO_TEMPLATES)
    gallery, nearest, _, threshold, _ = min(stages, key=lambda stage: stage[1].distance - stage[3])
    return FaceMatch(
        person_id=None,
        registry=None,
        distance=nearest.distance,
        margin=nearest.margin,
        threshold=threshold,
        accepted=False,
        reason=MatchReason.AMBIGUOUS_MATCH if nearest.distance < threshold else MatchReason.NO_MATCH,
        encoder_id=gallery.encoder_id,
    )
