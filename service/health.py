"""What ``GET /v1/health`` reports: the database, the chain and whether anchoring progresses.

Health tells the truth rather than only whether things answer: a dead or stalled anchoring loop,
records waiting far longer than the batch age (which also catches a stopped ``anchor --follow``
process when API workers run without the loop), and a contract whose code vanished from the chain
(a node restarted without its state) each make the status ``degraded``, with the reason.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text

from service.anchor.anchoring import oldest_pending_since, pending_record_count
from service.anchor.loop import LoopState
from service.runtime import ChainStatus, Runtime
from service.timeutil import utcnow

LOOP_DISABLED = "disabled"
"""The loop state reported when this process does not anchor (TRACEANCHOR_ANCHOR_IN_BACKGROUND=false)."""


@dataclass(frozen=True)
class ComponentStatus:
    ok: bool
    detail: str


@dataclass(frozen=True)
class AnchoringStatus:
    """The anchoring loop of this process, and how long the oldest pending record has waited."""

    ok: bool
    detail: str
    loop: str
    loop_alive: bool | None
    last_pass_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    oldest_pending_since: datetime | None
    oldest_pending_seconds: float | None
    batch_age_seconds: float
    stall_margin_seconds: float


@dataclass(frozen=True)
class HealthReport:
    status: str
    checked_at: datetime
    database: ComponentStatus
    chain: ChainStatus
    anchoring: AnchoringStatus
    pending_records: int | None
    reasons: list[str] = field(default_factory=list)


def check_health(ledger: Runtime) -> HealthReport:
    """Every check; ``status`` is ``ok`` only if all pass, else ``degraded`` with one reason per failure."""
    now = utcnow()
    database, pending, since = _database(ledger)
    chain = ledger.chain_status()
    anchoring = _anchoring(ledger, since=since, now=now)
    reasons = [f"{name}: {part.detail}" for name, part in (("database", database), ("chain", chain), ("anchoring", anchoring)) if not part.ok]
    return HealthReport(
        status="degraded" if reasons else "ok", checked_at=now, database=database, chain=chain,
        anchoring=anchoring, pending_records=pending, reasons=reasons,
    )


def _database(ledger: Runtime) -> tuple[ComponentStatus, int | None, datetime | None]:
    try:
        with ledger.session() as session:
            session.exec(text("SELECT 1"))
            return ComponentStatus(ok=True, detail=ledger.engine.dialect.name), pending_record_count(session), oldest_pending_since(session)
    except Exception as error:  # health must report, not fail
        return ComponentStatus(ok=False, detail=f"{type(error).__name__}: {error}"), None, None


def _anchoring(ledger: Runtime, *, since: datetime | None, now: datetime) -> AnchoringStatus:
    settings, loop = ledger.settings, ledger.anchoring.status
    problems = []
    if not settings.anchor_in_background:
        state, alive = LOOP_DISABLED, None
    else:
        state, alive = loop.state.value, loop.alive
        if loop.thread is not None and not alive:
            problems.append("the anchoring loop of this process is not running" + (f" (last error: {loop.last_error})" if loop.last_error else ""))
        elif loop.state == LoopState.RUNNING and time.monotonic() > loop.due_by:
            last = loop.last_pass_at.isoformat() if loop.last_pass_at else "it started"
            problems.append(f"the anchoring loop has not finished a pass since {last}")
    waited = (now - since).total_seconds() if since is not None else None
    if waited is not None and waited > settings.batch_age + settings.stall_margin:
        problems.append(
            f"the oldest pending record has waited {waited:.0f} s, more than the batch age ({settings.batch_age:g} s) "
            f"plus {settings.stall_margin:g} s"
        )
    return AnchoringStatus(
        ok=not problems, detail="; ".join(problems) or _progress(state), loop=state, loop_alive=alive,
        last_pass_at=loop.last_pass_at, last_error=loop.last_error, last_error_at=loop.last_error_at,
        oldest_pending_since=since, oldest_pending_seconds=waited,
        batch_age_seconds=settings.batch_age, stall_margin_seconds=settings.stall_margin,
    )


def _progress(state: str) -> str:
    return {
        LOOP_DISABLED: "no anchoring loop in this process (run `traceanchor anchor --follow`); records progress",
        LoopState.STANDBY.value: "another process runs the anchoring loop; records progress",
    }.get(state, "records progress")
