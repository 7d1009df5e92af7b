"""The gridgate domain model: plain value objects, no AWS, no storage.

Everything the functions and flows reason about is one of these types. Storage adapters
(`gridgate.adapters`) translate them to and from DynamoDB items; nothing here knows that a
table exists, which keeps the gate's decision rules testable without any emulator.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime


class PlaceKind(str, enum.Enum):
    """Levels of the city's administrative hierarchy, top-down (paper §3: street → community → grid)."""

    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    ESTATE = "estate"
    BUILDING = "building"


#: Parent level of each level; the district is the root.
PARENT_KIND: dict[PlaceKind, PlaceKind | None] = {
    PlaceKind.DISTRICT: None,
    PlaceKind.STREET: PlaceKind.DISTRICT,
    PlaceKind.COMMUNITY: PlaceKind.STREET,
    PlaceKind.GRID: PlaceKind.COMMUNITY,
    PlaceKind.ESTATE: PlaceKind.GRID,
    PlaceKind.BUILDING: PlaceKind.ESTATE,
}


class Registry(str, enum.Enum):
    """The two base registries a person (and a face template) can come from (paper §3.1.1)."""

    APP = "app"  # the city app's real-name registry
    POPULATION = "population"  # the city's actual-population registry


class KeyGroup(str, enum.Enum):
    """Key groups the community follows up (paper §1.3, §3.3)."""

    ELDERLY_ALONE = "elderly_alone"
    DISABLED = "disabled"
    COMMUNITY_CORRECTION = "community_correction"


class Relation(str, enum.Enum):
    """Why a non-owner resident may enter: the owner granted it for one home."""

    FAMILY = "family"
    TENANT = "tenant"


class GrantStatus(str, enum.Enum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


class PassStatus(str, enum.Enum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    USED_UP = "used_up"


class GateDirection(str, enum.Enum):
    ENTRY = "entry"
    EXIT = "exit"
    BOTH = "both"


class FaceMatching(str, enum.Enum):
    """Where an estate's gate faces are matched (docs/gate.md, "Edge matching").

    CLOUD: the gate sends the camera frame and the cloud matches it. DEVICE: the gate matches
    locally from its signed snapshot and sends only the decision; the cloud refuses its images,
    so no face image of that estate crosses the internet."""

    CLOUD = "cloud"
    DEVICE = "device"


class Direction(str, enum.Enum):
    """Direction of one passage through a gate."""

    IN = "in"
    OUT = "out"


class AccessMethod(str, enum.Enum):
    FACE = "face"
    VISITOR_PASS = "visitor_pass"
    RESIDENT_QR = "resident_qr"
    UNREAD_QR = "unread_qr"  # a gate-camera QR image in which no single code could be read


class Outcome(str, enum.Enum):
    OPEN = "open"
    DENY = "deny"
    RECORDED = "recorded"  # exits: no barrier, the passage is only captured


class Severity(str, enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class TaskStatus(str, enum.Enum):
    OPEN = "open"
    DONE = "done"


class TaskResult(str, enum.Enum):
    CONFIRMED = "confirmed"
    CORRECTED = "corrected"
    NOT_REACHABLE = "not_reachable"


@dataclass(frozen=True)
class Place:
    """One node of the hierarchy. `ancestors` maps each higher level to its id, for roll-ups."""

    place_id: str
    kind: PlaceKind
    name: str
    parent_id: str | None
    ancestors: dict[PlaceKind, str] = field(default_factory=dict)

    def ancestor(self, kind: PlaceKind) -> str | None:
        return self.place_id if kind == self.kind else self.ancestors.get(kind)


@dataclass(frozen=True)
class Gate:
    """A gate device at an estate. Requests are signed with the device's own key (`device_key_id`)."""

    gate_id: str
    estate_id: str
    direction: GateDirection
    device_key_id: str
    device_public_key: bytes = b""  # raw Ed25519 public key; the private half never leaves the device
    name: str = ""

    def serves(self, passage: Direction) -> bool:
        """Whether this gate may decide a passage in that direction (an exit camera opens no entry)."""
        if self.direction == GateDirection.BOTH:
            return True
        return (self.direction == GateDirection.ENTRY) == (passage == Direction.IN)


@dataclass(frozen=True)
class Home:
    """One home in the property records. Owners are `Ownership` facts, not an attribute."""

    home_id: str
    estate_id: str
    building_id: str
    unit: str
    floor: int
    room: str
    floor_area_m2: float
    grid_id: str

    @property
    def walking_order(self) -> tuple[str, str, str, int, str]:
        """How a grid worker walks an estate: building, unit, floor, door."""
        return (self.estate_id, self.building_id, self.unit, self.floor, self.room)


@dataclass(frozen=True)
class Ownership:
    """A property-record fact: `person_id` owns `home_id` from `since` until `until` (open-ended if None)."""

    person_id: str
    home_id: str
    estate_id: str
    since: date
    until: date | None = None

    def is_current(self, on: date) -> bool:
        return self.since <= on and (self.until is None or on < self.until)


@dataclass(frozen=True)
class Person:
    """A real-name-identified person. `id_number` is clear text here; storage never keeps it in clear."""

    person_id: str
    name: str
    id_number: str
    registries: frozenset[Registry]
    birth_year: int
    sex: str
    registered_home_id: str | None = None  # address in the actual-population registry
    phone: str | None = None
    key_groups: frozenset[KeyGroup] = frozenset()
    version: int = 0  # optimistic-lock counter; corrections must name the version they saw


#: The encoder every template stored before issue 12 was made with (dlib ResNet, 68-point alignment).
LEGACY_ENCODER_ID = "dlib_resnet_v1/large_landmarks/jitter1"
#: The encoder new templates are made with (OpenCV Zoo SFace on YuNet's 5 points, OpenCV's alignCrop).
CURRENT_ENCODER_ID = "sface_2021dec_int8bq/yunet5_aligncrop"
#: Encoder ids no code reproduces any more: their templates are never compared with a probe (their
#: owners must re-enrol). SFace on dlib 5-point alignment (eyes + nose BASE mapped onto SFace's
#: nose-TIP template) was the first SFace pipeline of issue 12; it separated people worse.
RETIRED_ENCODER_IDS = frozenset({"sface_2021dec_int8bq/dlib5_align"})


@dataclass(frozen=True)
class FaceTemplate:
    """A face encoding (never the photo), with where it came from, when consent was given and which
    encoder made it: vectors of different encoders are never compared (gridgate.faces.encoders)."""

    person_id: str
    source: Registry
    template_no: int
    encoding: bytes  # 128 float32 values, little-endian
    consent_at: datetime
    quality: float = 0.0
    encoder: str = CURRENT_ENCODER_ID

    @property
    def needs_reenrolment(self) -> bool:
        """A legacy template still opens the gate, but its owner is asked to enrol a new selfie."""
        return self.encoder != CURRENT_ENCODER_ID


@dataclass(frozen=True)
class Grant:
    """An owner's grant of access to one home for a family member or tenant."""

    grant_id: str
    home_id: str
    estate_id: str
    grantee_id: str
    relation: Relation
    starts_on: date
    ends_on: date | None
    granted_by: str
    status: GrantStatus
    created_at: datetime
    revoked_at: datetime | None = None

    def is_effective(self, on: date) -> bool:
        """A grant opens the gate only while active and inside its dates."""
        return (
            self.status == GrantStatus.ACTIVE and self.starts_on <= on and (self.ends_on is None or on <= self.ends_on)
        )


@dataclass(frozen=True)
class VisitorPass:
    """A temporary pass an owner issues for a visitor, bound to one estate (paper §3.1.2)."""

    pass_id: str
    estate_id: str
    home_id: str
    issued_by: str
    visitor_name: str
    valid_from: datetime
    valid_until: datetime
    key_id: str
    max_uses: int | None = None
    uses: int = 0
    status: PassStatus = PassStatus.ACTIVE
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class AccessEvent:
    """One passage through a gate, open, denied or (for exits) recorded, with its explanation."""

    event_id: str  # "<gate_id>:<device event id>": a retried upload maps to the same event
    gate_id: str
    estate_id: str
    direction: Direction
    occurred_at: datetime
    method: AccessMethod
    outcome: Outcome
    reason: str
    person_id: str | None = None
    pass_id: str | None = None
    home_id: str | None = None
    registry: Registry | None = None
    score: float | None = None
    right: str | None = None  # which right opened the gate: owner / family / tenant / visitor


@dataclass(frozen=True)
class Finding:
    """Something reconciliation or alerting found, with the evidence a grid worker needs."""

    finding_id: str  # deterministic from type and subject: re-runs find the same finding
    finding_type: str
    severity: Severity
    grid_id: str
    subject: str  # what it is about, e.g. "home#H1" or "person#P1"
    evidence: dict
    detected_at: datetime
    status: TaskStatus = TaskStatus.OPEN
    home_id: str | None = None
    person_id: str | None = None


@dataclass(frozen=True)
class VerificationTask:
    """A door-to-door check for a grid worker, born from a finding."""

    task_id: str
    grid_id: str
    finding_id: str
    priority: int  # 1 is most urgent
    walking_order: tuple[str, str, str, int, str]
    home_id: str
    summary: str
    created_at: datetime
    status: TaskStatus = TaskStatus.OPEN
    result: TaskResult | None = None
    person_id: str | None = None
    finding_type: str = ""  # what the visit checks, for the printed list


@dataclass(frozen=True)
class Statistic:
    """One number for one place on one day, e.g. ("grid#G1", 2026-11-24, "residents.owners", 412)."""

    scope: str
    day: date
    metric: str
    value: float
    series: tuple[int, ...] | None = None  # hourly metrics: the 24 local-hour values behind `value`


@dataclass(frozen=True)
class AuditRecord:
    """Who did or read what, when, from which request: every change and every personal-data read."""

    audit_id: str
    actor: str
    action: str
    subject: str
    at: datetime
    request_id: str | None = None
    detail: dict = field(default_factory=dict)
