"""Request and response models of the events-out endpoints (subscriptions, dead letters, export)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SubscriptionRequest(BaseModel):
    """Subscribe a system to access events. `estate_ids`: a property company may name only estates
    its token names (default: all of them); the data center may name any, or none for the city."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2048, description="https URL that receives the signed POSTs")
    estate_ids: list[str] | None = Field(default=None, max_length=200)
    description: str = Field(default="", max_length=200)


class SubscriptionView(BaseModel):
    subscription_id: str
    scope: str = Field(description='"estates" or "city"')
    estate_ids: list[str]
    url: str
    description: str
    created_at: str


class CreatedSubscription(SubscriptionView):
    secret: str = Field(description="signing secret, shown only in this answer (see docs/events-out.md)")


class SubscriptionsView(BaseModel):
    subscriptions: list[SubscriptionView]


class DeadLetterView(BaseModel):
    event_id: str
    attempts: int
    last_error: str | None
    payload: str = Field(description="the JSON body that could not be delivered")


class DeadLettersView(BaseModel):
    subscription_id: str
    dead_letters: list[DeadLetterView]
