"""Typed settings, read once from the environment (prefix ``GRIDGATE_``).

The same code runs in Lambda, in Prefect workers and against the local emulator; only these
settings differ. AWS endpoints are not settings of ours: boto3 and PynamoDB read
``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL_S3`` themselves, which is how the emulator
is wired in.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
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
    #: How long a face template may be held after its consent before it must be re-confirmed
    #: (re-enrolled) or deleted: the "shortest time" of the 2025 CAC/MPS face measures Art. 8;
    #: the compliance report counts templates older than this (docs/privacy.md).
    face_template_retention_days: int = Field(365, ge=1, le=3650)
    #: Write shards per estate-day partition of the access-events table (see docs/data-model.md).
    event_write_shards: int = Field(8, ge=1, le=64)
    #: Gate devices: a face entry whose device-reported liveness score (0..1) is below this floor
    #: is denied (`liveness_too_low`) before any matching. See docs/gate.md for the spoof samples.
    gate_liveness_floor: float = Field(0.5, ge=0.0, le=1.0)
    #: Gate devices: a signed request whose timestamp is further than this from the server clock is
    #: refused; the nonces it used are remembered for twice as long (docs/gate.md, device auth).
    gate_request_window_seconds: int = Field(60, ge=5, le=900)
    #: Gate devices: largest accepted upload; bigger bodies get 413 (API Gateway stops at 6 MB anyway).
    gate_max_upload_bytes: int = Field(4 * 1024 * 1024, ge=64 * 1024, le=6 * 1024 * 1024)
    #: Gate function: how many people's face templates one warm instance keeps, over all the estates
    #: it holds (about 1.2 KB each: 600,000 is ~0.75 GB); the least recently used estates go beyond it.
    #: docs/gate.md, "Galleries at city scale", sizes it against Nanjing's 5.16 M app users.
    gate_gallery_max_people: int = Field(600_000, ge=1_000, le=5_000_000)
    #: Gate function affinity (docs/gate.md, "Affinity"): the city's gate functions are this many
    #: shards of one image, each warming only its own estates; an estate's shard is a stable hash of
    #: its id unless `gate_shard_map` places it (`gridgate.gate.affinity`).
    gate_shards: int = Field(1, ge=1, le=256)
    #: The shard this gate function serves (each shard's deployment sets it); None: every estate.
    gate_shard: int | None = Field(None, ge=0, le=255)
    #: Estates placed by hand, estate id -> shard (a very large estate moved to a quieter shard).
    gate_shard_map: dict[str, int] = Field(default_factory=dict)
    #: The base URL a gate device of shard {shard} is provisioned with.
    gate_shard_url: str = "https://gate-{shard}.gridgate.local"
    #: Offline snapshots: how long a gate may decide from one snapshot before it refuses to. This is
    #: the bound on how long an offline gate can act on a withdrawn face or a revoked right.
    gate_snapshot_validity_minutes: int = Field(30, ge=5, le=24 * 60)
    #: Offline snapshots: how far ahead they cover resident rotating codes (digests of every 30-s
    #: code; about 7.7 KB per resident for 6 hours). Past that, offline gates refuse resident codes.
    gate_snapshot_resident_code_hours: int = Field(6, ge=1, le=24)

    #: City app tokens (JWT): who issues them and for whom. Locally the emulator is the issuer
    #: (`gridgate.security.tokens.issue_token`); in AWS these are the city IdP's values and the
    #: keyring holds only the IdP's public keys.
    token_issuer: str = "https://idp.gridgate.local"
    token_audience: str = "gridgate-app"
    #: Clock skew tolerated on a token's exp/nbf/iat (phones and Lambda clocks drift a little).
    token_leeway_seconds: int = Field(30, ge=0, le=300)
    #: The city's civil time zone: grant dates and "today" are local dates, not UTC ones.
    city_timezone: str = "Asia/Shanghai"
    #: Per-home grant cap (docs/policy.md): one granted person per this much floor area ...
    grant_area_per_person_m2: float = Field(10.0, gt=0)
    #: ... but never fewer than this (a small home can still house one family member or tenant) ...
    grant_cap_min: int = Field(1, ge=0, le=50)
    #: ... nor more than this, however large the home.
    grant_cap_max: int = Field(10, ge=1, le=100)
    #: App endpoints: largest JSON body accepted; bigger bodies get 413 before any parsing.
    app_max_body_bytes: int = Field(8 * 1024, ge=512, le=1024 * 1024)
    #: App endpoints: how long a retried request with the same Idempotency-Key replays its first result.
    idempotency_ttl_seconds: int = Field(24 * 3600, ge=60, le=7 * 24 * 3600)

    #: People's sign-in on the pages: the city identity provider (OpenID Connect, authorization
    #: code with PKCE; its endpoints and keys come from ``<issuer>/.well-known/openid-configuration``).
    #: None: the pages cannot sign anyone in. Locally the emulator's IdP
    #: (`local_emulator.identity_provider`) plays this role.
    oidc_issuer: str | None = None
    #: The pages' client id at the IdP (a public client: PKCE, no client secret).
    oidc_client_id: str = "gridgate-pages"
    #: Where the IdP sends the browser back (registered at the IdP): the API's public
    #: ``https://…/auth/callback``. None: this request's host (loopback runs).
    oidc_redirect_uri: str | None = None
    #: A signed-in person's session lasts a working day, then they sign in again ...
    session_hours: int = Field(10, ge=1, le=24)
    #: ... while each access token lasts minutes and is refreshed (rotating) from the session cookie.
    session_access_seconds: int = Field(600, ge=60, le=3600)

    #: Data-center page: where the Prefect UI runs, for links to the flow runs (None: no links).
    prefect_ui_url: str | None = None
    #: Where a failed nightly flow posts its alert (JSON, see flows/notify.py); None: only logged.
    failure_webhook_url: str | None = None

    #: Events out (docs/events-out.md): attempts of one delivery before it becomes a dead letter ...
    webhook_max_attempts: int = Field(6, ge=1, le=20)
    #: ... the wait before the 2nd attempt, doubled before each later one (60 s: 1, 2, 4, 8, 16 min) ...
    webhook_backoff_seconds: int = Field(60, ge=1, le=3600)
    #: ... how long one attempt may take, and how long delivery records (dead letters too) are kept.
    webhook_timeout_seconds: float = Field(5.0, gt=0, le=30)
    webhook_record_days: int = Field(14, ge=1, le=90)
    #: Subscribers' URLs must be https, except on loopback when this is set (emulator, tests).
    webhook_allow_loopback_http: bool = False
    #: Largest time range of one events export (CSV/Parquet), in days.
    event_export_max_days: int = Field(31, ge=1, le=366)

    #: Nightly flows: the SQL engine that runs the event queries (docs/flows.md). "duckdb" runs
    #: embedded in the flow process; "spark" runs the same SQL on PySpark (local[*] in the tests,
    #: a cluster / EMR Serverless in deployment via `analytics_spark_master`).
    analytics_engine: Literal["duckdb", "spark"] = "duckdb"
    #: DuckDB's memory limit: past it, joins and aggregations spill to `analytics_work_dir`.
    analytics_memory_limit: str = Field("512MB", pattern=r"^[0-9]+(\.[0-9]+)?\s*(MB|GB|MiB|GiB)$")
    analytics_threads: int = Field(2, ge=1, le=256)
    #: Local folder for staged event Parquet and spill files (None: a folder under the temp dir).
    analytics_work_dir: Path | None = None
    analytics_spark_master: str = "local[*]"
    #: Spark on a cluster: read the snapshots and event days straight from S3 (``s3a://``)
    #: instead of staging them through the flow's disk; the live day goes to S3 as well. The
    #: cluster needs hadoop-aws on its class path (EMR and Glue have it). DuckDB cannot (no httpfs).
    analytics_read_s3: bool = False

    @model_validator(mode="after")
    def _s3_reads_need_spark(self) -> Settings:
        if self.analytics_read_s3 and self.analytics_engine != "spark":
            raise ValueError("analytics_read_s3 needs analytics_engine='spark' (DuckDB here has no S3 reader)")
        return self

    @model_validator(mode="after")
    def _shards_exist(self) -> Settings:
        named = [self.gate_shard] if self.gate_shard is not None else []
        if any(shard >= self.gate_shards for shard in [*named, *self.gate_shard_map.values()]):
            raise ValueError(f"gate shards are numbered 0..{self.gate_shards - 1}")
        if "{shard}" not in self.gate_shard_url:
            raise ValueError("gate_shard_url must contain {shard}")
        return self

    @property
    def bucket(self) -> str:
        return f"{self.table_prefix}-{self.stage}-data"

    def table_name(self, name: str) -> str:
        return f"{self.table_prefix}-{self.stage}-{name}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
