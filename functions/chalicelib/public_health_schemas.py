"""Answers of the epidemic flow queries (`blueprints/public_health.py`), as pydantic models.

They describe what `gridgate.public_health.FlowQueries` answers; the contract test checks the
running app against them. People appear by person id or a visitor's pass id only.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from gridgate.domain.model import AccessMethod, Direction


class _Answer(BaseModel):
    """What every flow query answer repeats: the approval it rests on and the window asked."""

    approval_id: str
    case_ref: str
    export_allowed: bool = Field(description="whether the approval lets its results leave as a file")
    from_: str = Field(alias="from")
    to: str


class PassageRow(BaseModel):
    occurred_at: str
    direction: Direction
    gate_id: str
    method: AccessMethod
    person_id: str | None
    pass_id: str | None


class EstatePassagesAnswer(_Answer):
    estate_id: str
    passages: list[PassageRow]


class EstateVisit(BaseModel):
    estate_id: str
    grid_id: str | None
    entries: int
    exits: int
    first_at: str
    last_at: str


class CoPassage(BaseModel):
    person_id: str | None
    pass_id: str | None
    estate_id: str
    gate_id: str
    occurred_at: str
    direction: Direction
    minutes_apart: float


class PersonTraceAnswer(_Answer):
    person_id: str
    minutes: int
    estates: list[EstateVisit]
    co_passages: list[CoPassage]
    passages_outside_scope: int = Field(description="the person's passages outside the approval's estates (not shown)")


class EstateDay(BaseModel):
    day: str
    estate_id: str
    grid_id: str | None
    entries: int
    exits: int
    people: int


class EstateFlow(BaseModel):
    day: str
    from_estate: str
    from_grid: str | None
    to_estate: str
    to_grid: str | None
    people: int


class GridFlow(BaseModel):
    day: str
    from_grid: str | None
    to_grid: str | None
    people: int


class DailyFlowsAnswer(_Answer):
    estates: list[EstateDay]
    between_estates: list[EstateFlow]
    between_grids: list[GridFlow]
    #: the name of every estate and grid the tables name, by id
    place_names: dict[str, str]
