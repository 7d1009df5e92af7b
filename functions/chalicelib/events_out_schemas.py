"""Request and response models of the events-out endpoints (subscriptions, dead letters, export)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.resident_schemas import Page

Kind = Literal["access", "finding", "alert"]


class SubscriptionRequest(BaseModel):
    """Subscribe a system to events (docs/events-out.md, "Scope"). Places go in the field of the
    caller's scope and only those its token names (default: all of them): `estate_ids` for a
    property company (the data center may name any, or none for the city), `grid_ids` for a street
    office, `district_ids` for a district's civil-affairs or justice office. `kinds`: what it
    receives, only what its scope may (else 403 `kind_not_allowed`); default: access events
    (an office: its one kind)."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2048, description="https URL that receives the signed POSTs")
    kinds: list[Kind] | None = Field(default=None, min_length=1, max_length=3)
    estate_ids: list[str] | None = Field(default=None, max_length=200)
    grid_ids: list[str] | None = Field(default=None, max_length=200)
    district_ids: list[str] | None = Field(default=None, max_length=200)
    description: str = Field(default="", max_length=200)


class SubscriptionView(BaseModel):
    subscription_id: str
    scope: str = Field(description="estates, grids, civil_affairs, justice or city")
    kinds: list[Kind]
    estate_ids: list[str]
    grid_ids: list[str]
    district_ids: list[str]
    url: str
    description: str
    created_at: str


class CreatedSubscription(SubscriptionView):
    secret: str = Field(description="signing secret, shown only in this answer (see docs/events-out.md)")


class SubscriptionsView(Page):
    subscriptions: list[SubscriptionView]


class DeadLetterView(BaseModel):
    event_id: str
    attempts: int
    last_error: str | None
    payload: str = Field(description="the JSON body that could not be delivered")


class DeadLettersView(Page):
    subscription_id: str
    dead_letters: list[DeadLetterView]
