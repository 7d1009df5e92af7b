"""Typed settings, read once from the environment (prefix ``GRIDGATE_``).

The same code runs in Lambda, in Prefect workers and against the local emulator; only these
settings differ. AWS endpoints are not settings of ours: boto3 and PynamoDB read
``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL_S3`` themselves, which is how the emulator
is wired in.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDGATE_", frozen=True)

    stage: str = Field("dev", pattern=r"^[a-z][a-z0-9-]{0,15}$")
    table_prefix: str = "gridgate"
    region: str = "us-east-1"
    #: Local JSON keyring (emulator, tests). In AWS the same document lives in Secrets Manager.
    keyring_file: Path | None = None
    keyring_secret_id: str | None = None
    #: How long access events are kept before DynamoDB's TTL removes them (privacy retention).
    event_retention_days: int = Field(180, ge=1, le=3650)
    #: Write shards per estate-day partition of the access-events table (see docs/data-model.md).
    event_write_shards: int = Field(8, ge=1, le=64)

    @property
    def bucket(self) -> str:
        return f"{self.table_prefix}-{self.stage}-data"

    def table_name(self, name: str) -> str:
        return f"{self.table_prefix}-{self.stage}-{name}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
