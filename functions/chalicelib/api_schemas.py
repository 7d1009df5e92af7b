"""Bodies of the gate, face, grid-worker and page endpoints, as pydantic models for the contract.

The residents' endpoints validate and shape their bodies with `resident_schemas`; these endpoints
build theirs in the services (`GateDecision.as_dict`, `HomeRoster.read`, ...), so these models
describe what the services answer. They become the schemas of `docs/openapi.json`, and the
contract test (`tests/app/test_contract.py`) checks every answer of the running app against
them: a service that changes its answer without its model fails that test.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.resident_schemas import HomePlace, Page
from gridgate.domain.legal_records import Matching
from gridgate.domain.model import AccessMethod, Direction, KeyGroup, Outcome, Registry, Severity, TaskResult, TaskStatus

# --- gate ------------------------------------------------------------------------------------


class QrTextRequest(BaseModel):
    """A QR code the gate's own reader decoded: its text, exactly."""

    text: str = Field(min_length=1, max_length=4096)


class GateEvent(BaseModel):
    """One recorded passage and the decision about it (the event row, without names)."""

    event_id: str
    gate_id: str
    estate_id: str
    direction: Direction
    occurred_at: datetime
    method: AccessMethod
    outcome: Outcome
    reason: str = Field(
        description="stable reason code (docs/gate.md): resident_right, visitor_pass, pass_expired, ..."
    )
    person_id: str | None
    pass_id: str | None
    home_id: str | None
    registry: Registry | None
    score: float | None = Field(description="face match score (1 - distance); null for QR")
    right: str | None = Field(description="owner / family / tenant / visitor: the right that opened")
    replayed: bool = Field(description="true when this device event id was decided before: the first decision")


class GateDecisionAnswer(BaseModel):
    """200: the gate opens (``outcome`` open), stays closed (deny) or records an exit."""

    decision: GateEvent


class OfflineEvents(BaseModel):
    """Events the gate decided offline, as it recorded them (`GateEvent` fields, without ``replayed``)."""

    events: list[dict] = Field(min_length=1, max_length=500)


class RefusedEvent(BaseModel):
    event_id: str | None
    code: str


class OfflineUploadAnswer(BaseModel):
    acknowledged: list[str] = Field(description="event ids the gate may delete from its buffer")
    stored: int
    duplicates: int
    refused: int
    conflicts: int
    refused_events: list[RefusedEvent]
    conflict_events: list[RefusedEvent]


class SnapshotLocation(BaseModel):
    snapshot_id: str
    valid_until: datetime
    url: str = Field(description="presigned download URL of the signed snapshot (a few minutes)")


# --- faces -----------------------------------------------------------------------------------


class EnrolledFaceView(BaseModel):
    template_no: int
    consent_at: datetime
    face_px: int


class FaceStatusAnswer(BaseModel):
    person_id: str
    app_templates: list[EnrolledFaceView]
    max_app_templates: int
    population_templates: int


class FaceEnrolledAnswer(FaceStatusAnswer):
    enrolled: EnrolledFaceView


class FaceWithdrawnAnswer(FaceStatusAnswer):
    removed_templates: int


class FaceConsentRequest(BaseModel):
    """A separate consent to face recognition, given after reading the notice (PIPL Art. 29).

    No guardian field: the token is the person's own, so a minor could name anyone; a person who
    may be under 14 is refused (``guardian_consent_required``): their guardian records the consent
    with their own token on ``PUT /faces/minors/{person_id}/consent``."""

    model_config = ConfigDict(extra="forbid")

    estates: list[str] = Field(min_length=1, max_length=20, description="estates whose gates may match the face")
    matching: Matching = Field(description="cloud matching, or on the gate device only")
    notice_version: str = Field(min_length=1, max_length=64, description="the version of the notice shown")


class FaceConsentAnswer(BaseModel):
    person_id: str
    basis: str
    estates: list[str]
    matching: str
    notice_version: str
    given_at: str
    guardian_person_id: str | None


# --- grid workers ----------------------------------------------------------------------------


class TaskRow(BaseModel):
    order: int = Field(description="place in the grid's whole walking order (continues across pages)")
    priority: int
    estate_id: str
    estate_name: str
    building_id: str
    unit: str
    floor: int
    room: str
    home_id: str
    person_id: str
    finding_type: str | None
    summary: str
    task_id: str
    status: TaskStatus


class TaskListAnswer(Page):
    grid_id: str
    grid_name: str | None = Field(description="the grid's name, for the page's grid choice (the id stays small print)")
    count: int = Field(description="open tasks in the whole grid (all pages)")
    tasks: list[TaskRow]


class RosterHome(HomePlace):
    grid_id: str | None


class RosterResident(BaseModel):
    person_id: str
    roles: list[str]
    role: str
    in_registry: bool
    name: str | None = None
    id_number_tail: str | None = None
    birth_year: int | None = None
    sex: str | None = None
    registered_home_id: str | None = None
    key_groups: list[KeyGroup] | None = None
    version: int | None = Field(None, description="send as seen_version with a correction")


class RosterAnswer(BaseModel):
    home: RosterHome
    residents: list[RosterResident]


class PersonCorrectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: str = Field(min_length=1, max_length=128)
    seen_version: int = Field(ge=0, description="the person's version in the roster you were shown")
    registered_home_id: str | None = Field(None, max_length=128)
    moved_out: bool | None = None
    key_groups: list[KeyGroup] | None = None


class TaskResultRequest(BaseModel):
    result: TaskResult
    note: str = Field("", max_length=2000)
    corrections: list[PersonCorrectionRequest] = Field(
        default_factory=list, max_length=20, description="required with result corrected, and only then"
    )


class TaskResultAnswer(BaseModel):
    task_id: str
    status: TaskStatus
    result: TaskResult | None


# --- data center -----------------------------------------------------------------------------


class FindingView(BaseModel):
    explanation: str = Field(description="why, in plain words, in the reader's language")
    finding_id: str
    type: str
    severity: Severity
    grid_id: str
    subject: str
    detected_at: datetime
    evidence: dict
    alert: bool


class PlaceView(BaseModel):
    place_id: str
    name: str
    kind: str
    metrics: dict[str, float]


class ChartSeries(BaseModel):
    name: str
    data: list[int]


class ChartView(BaseModel):
    id: str
    title: str
    categories: list[str] = Field(description="place names, one per bar")
    series: list[ChartSeries]
    horizontal: bool


class ParentPlace(BaseModel):
    place_id: str
    name: str
    kind: str
    parent_id: str | None


class OverviewAnswer(BaseModel):
    parent: ParentPlace | None
    day: date | None
    places: list[PlaceView]
    charts: list[ChartView] = Field(
        description="the charts' data, drawn by the page with ECharts; titles in the viewer's language"
    )
    findings: list[FindingView]
    alerts: list[FindingView]
    findings_total: int
    alerts_total: int
    open_findings: int
    findings_next_cursor: str | None = Field(
        description="continues `findings` on /pages/data-center/findings?kind=finding"
    )
    alerts_next_cursor: str | None = Field(description="continues `alerts` on /pages/data-center/findings?kind=alert")
    prefect_ui_url: str | None


class FindingsPage(Page):
    findings: list[FindingView]
    total: int


class PageSessionAnswer(BaseModel):
    """A signed-in page's access token (the refresh secret stays in its HttpOnly cookie)."""

    access_token: str
    access_expires_at: datetime
    session_expires_at: datetime
    subject: str
    name: str
    roles: list[str]
    grids: list[str]


class SignedOutAnswer(BaseModel):
    signed_out: bool
