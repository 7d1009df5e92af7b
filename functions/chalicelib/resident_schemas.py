"""Request and response bodies of the residents' endpoints, as pydantic models.

The same models validate requests (`json_body.parse_body`), shape responses, and become the
schemas of `docs/openapi.json`, so the document cannot drift from what the code accepts.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridgate.domain.model import Grant, GrantStatus, Home, PassStatus, Relation, VisitorPass
from gridgate.domain.policy import MAX_PASS_USES, MAX_PASS_VALIDITY
from gridgate.domain.rights import grant_status_on, pass_status_at

_MAX_HOURS = int(MAX_PASS_VALIDITY.total_seconds() // 3600)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel):
    """A page of a list (`chalicelib.paging`): the same cursor is in the ``Link`` header."""

    next_cursor: str | None = Field(
        None, description="send as ?cursor= (with the same other parameters) for the next page; null on the last page"
    )


class GrantRequest(_Request):
    """Grant a family member or tenant access to one of my homes."""

    grantee_id_number: str = Field(
        pattern=r"^([0-9]{17}[0-9Xx]|[0-9]{15})$",
        description="resident ID number of the person to grant (18 characters, or 15 for old cards)",
    )
    relation: Relation
    starts_on: date = Field(description="first day, city local date; not in the past")
    ends_on: date | None = Field(None, description="last day (inclusive); open-ended when absent")


class PassRequest(_Request):
    """Issue a temporary pass for a visitor."""

    visitor_name: str = Field(min_length=1, max_length=40)
    valid_from: AwareDatetime | None = Field(None, description="start, with a UTC offset; now when absent")
    duration_hours: float = Field(
        float(_MAX_HOURS),
        allow_inf_nan=False,
        description=f"validity in hours, at least 1/6 (10 minutes; shorter: 400 validity_too_short) and at most {_MAX_HOURS} (longer: 400 validity_too_long)",
    )
    max_uses: int | None = Field(None, ge=1, le=MAX_PASS_USES, description="entries allowed; unlimited when absent")


class HomePlace(BaseModel):
    """Where a home is, as the property records say."""

    home_id: str
    estate_id: str
    building_id: str
    unit: str
    floor: int
    room: str
    floor_area_m2: float


class HomeView(HomePlace):
    grant_cap: int

    @classmethod
    def of(cls, home: Home, cap: int) -> HomeView:
        return cls(**{k: getattr(home, k) for k in cls.model_fields if k != "grant_cap"}, grant_cap=cap)


class HomesView(Page):
    homes: list[HomeView]


class GrantView(BaseModel):
    grant_id: str
    home_id: str
    estate_id: str
    grantee_id: str
    relation: Relation
    starts_on: date
    ends_on: date | None
    status: GrantStatus
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, grant: Grant, today: date) -> GrantView:
        fields = {k: getattr(grant, k) for k in cls.model_fields if k != "status"}
        return cls(**fields, status=grant_status_on(grant, today))


class HomeGrantsView(Page):
    home_id: str
    cap: int
    slots_used: int
    grants: list[GrantView]


class PassView(BaseModel):
    pass_id: str
    home_id: str
    estate_id: str
    visitor_name: str
    valid_from: datetime
    valid_until: datetime
    max_uses: int | None
    uses: int
    status: PassStatus
    key_id: str

    @classmethod
    def of(cls, visitor_pass: VisitorPass, now: datetime, **extra) -> PassView:
        fields = {k: getattr(visitor_pass, k) for k in PassView.model_fields if k != "status"}
        return cls(**fields, status=pass_status_at(visitor_pass, now), **extra)


class IssuedPassView(PassView):
    qr_text: str = Field(description="the signed pass; the gate reads exactly this text")
    qr_version: int = Field(description="QR version of the code at error-correction level M")
    qr_png_base64: str = Field(description="PNG of the QR code, base64")


class PassesView(Page):
    passes: list[PassView]


class ResidentQrView(BaseModel):
    code: str = Field(description="the current code; the gate reads exactly this text")
    step_seconds: int
    seconds_left: int = Field(description="when to fetch the next code")
    png_base64: str = Field(description="PNG of the QR code, base64")
