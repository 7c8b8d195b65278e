"""Liveness and readiness: the database, the chain, and whether anchoring progresses."""

from pydantic import BaseModel, ConfigDict, Field

from service.health import HealthReport
from service.timeutil import UtcDateTime


class ComponentHealthPublic(BaseModel):
    ok: bool
    detail: str


class ChainHealthPublic(ComponentHealthPublic):
    chain_id: int | None = None
    block_number: int | None = None
    contract: str | None = None
    contract_present: bool | None = Field(None, description="The contract's code is still at its address (false: the node lost its state).")
    checked_at: UtcDateTime | None = Field(None, description="When the chain was last looked at (health caches it for a few seconds).")


class AnchoringHealthPublic(ComponentHealthPublic):
    loop: str = Field(description="This process's anchoring loop: running, standby (another process runs it), stopped, not_started, or disabled.")
    loop_alive: bool | None = Field(description="Whether its thread is alive (null when disabled).")
    last_pass_at: UtcDateTime | None = Field(description="When the loop last finished a pass.")
    last_error: str | None
    last_error_at: UtcDateTime | None
    oldest_pending_since: UtcDateTime | None = Field(
        description="Since when the longest-waiting pending record waits: its creation, or for records in a batch awaiting the chain, the batch's closing."
    )
    oldest_pending_seconds: float | None
    batch_age_seconds: float
    stall_margin_seconds: float = Field(description="Waiting longer than the batch age plus this makes anchoring `degraded`.")


class HealthPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: str = Field(description="ok, or degraded with `reasons`")
    reasons: list[str] = Field(default_factory=list, description="One line per failed check.")
    checked_at: UtcDateTime
    database: ComponentHealthPublic
    chain: ChainHealthPublic
    anchoring: AnchoringHealthPublic
    pending_records: int | None = None

    @classmethod
    def of(cls, report: HealthReport) -> "HealthPublic":
        return cls.model_validate(report, from_attributes=True)
