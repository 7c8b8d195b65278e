"""All configuration in one place, read from ``TRACEANCHOR_*`` environment variables."""

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime settings; every field maps to ``TRACEANCHOR_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="TRACEANCHOR_", env_file=None, extra="ignore")

    data_dir: Path = Field(Path(".traceanchor"), description="Where the SQLite file and the embedded chain live.")
    database_url: str | None = Field(None, description="Any SQLAlchemy URL; default: SQLite in data_dir.")
    chain_url: str | None = Field(None, description="Ethereum JSON-RPC URL; default: the embedded chain.")
    private_key: str | None = Field(None, description="Signing key for an RPC node; default: its first unlocked account.")
    contract_address: str | None = Field(None, description="Attach to this TraceAnchor; default: the one recorded in the DB, else deploy.")
    confirmations: int = Field(1, ge=1, description="Blocks (including the anchoring block) before a batch counts as anchored.")
    batch_size: int = Field(1024, ge=1, le=65536, description="Close a batch when this many records are pending.")
    max_batch_size: int = Field(
        16384, ge=1, le=1 << 20, description="Most records in one batch: under a backlog a batch takes every pending record up to this."
    )
    batch_age: float = Field(30.0, gt=0, description="Seconds after which pending records are batched however few they are.")
    receipt_margin: float = Field(
        600.0, ge=0, description="Seconds a receipt's anchorBy allows beyond batch_age: the anchoring transaction and its confirmations."
    )
    anchor_interval: float = Field(1.0, gt=0, description="Seconds between passes of the background anchoring loop.")
    anchor_in_background: bool = Field(True, description="Run the anchoring loop inside the API process.")
    anchor_lock_timeout: float = Field(
        10.0, ge=0, description="Seconds an anchoring pass waits for the one another thread or process is running (then 409)."
    )
    stall_margin: float = Field(
        120.0, gt=0, description="Health reports anchoring as stalled when a pass is this late, or a record pending this long past batch_age."
    )
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024, description="Larger request bodies get 413.")
    max_events: int = Field(10_000, ge=1, description="Most events in one EPCIS document (more: 413).")
    max_transactions: int = Field(10_000, ge=1, description="Most transactions in one submission (more: 413).")
    secret_key: str | None = Field(None, description="Seals stored models; default: a random key in data_dir.")
    capture_processes: int = Field(
        1, ge=0, le=64, description="Worker processes that parse, validate and hash large EPCIS documents (0: in the API process)."
    )
    rate_limit: float = Field(
        2000.0, ge=0, description="Requests a second each API key may make on average, per API worker (more: 429); 0: no limit."
    )
    rate_limit_burst: int = Field(4000, ge=1, description="Requests each API key may make at once before rate_limit applies.")
    page_token_seconds: float = Field(
        3600.0, gt=0, description="How long a page's nextPageToken stays valid (each page brings a fresh one)."
    )
    key_cache_seconds: float = Field(
        5.0, ge=0, description="How long a worker trusts an API key it checked; a key revoked elsewhere stops working within this time."
    )
    gcp_length_table: Path | None = Field(
        None, description="GS1's GCP length table (gcpprefixformatlist.json or .xml from gs1.org): with it, "
        "GS1-EPC-Format Always_EPC_URN turns any Digital Link of a listed company prefix into its EPC URN."
    )
    deliver_in_background: bool = Field(True, description="Run the webhook delivery loop inside the API process.")
    webhook_allow_private: bool = Field(
        False, description="Let subscriptions send to loopback, private and link-local addresses (tests, closed networks)."
    )
    webhook_allow_hosts: str = Field(
        "", description="Comma-separated host names, addresses or networks (CIDR) a subscription may send to although not public."
    )
    webhook_timeout: float = Field(10.0, gt=0, le=300, description="Seconds a webhook request may take (connect, send, answer).")
    webhook_max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest webhook body: a batch over it is split (a single larger event is sent alone)."
    )
    webhook_concurrency: int = Field(
        8, ge=1, le=64, description="Webhook requests a delivery loop sends in parallel (to different subscriptions)."
    )
    webhook_batch: int = Field(100, ge=1, le=10_000, description="Most events in one webhook request (halved on 413).")
    webhook_retry_seconds: float = Field(1.0, gt=0, description="First retry delay of a failed delivery; doubled per failure.")
    webhook_retry_max_seconds: float = Field(300.0, gt=0, description="Longest delay between retries of a failed delivery.")
    webhook_poll_seconds: float = Field(1.0, gt=0, description="How often a stream subscription looks for new events.")
    webhook_settle_seconds: float = Field(
        1.0, ge=0, description="Events are delivered once stored this long, so that one committed later with a lower id is not skipped."
    )

    @cached_property
    def resolved_database_url(self) -> str:
        """The configured database URL, or a SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'traceanchor.db').resolve()}"

    def signing_key(self) -> bytes:
        """The key that seals what the service must trust when it reads it back (see service.sealing)."""
        from service.sealing import signing_key

        return signing_key(configured=self.secret_key, data_dir=self.data_dir)

    @property
    def chain_state_path(self) -> Path:
        """Where the embedded chain keeps its state between runs."""
        return self.data_dir / "chain"
