"""Liveness and readiness: can we reach the database and the chain?"""

from fastapi import APIRouter
from sqlalchemy import text

from service.anchoring import pending_record_count
from service.api.deps import LedgerDep
from service.api.schemas import ChainHealth, ComponentHealth, Health
from service.errors import TraceAnchorError

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(ledger: LedgerDep) -> Health:
    """Database and chain state; no key needed, so load balancers can ask."""
    pending = None
    try:
        with ledger.session() as session:
            session.exec(text("SELECT 1"))
            pending = pending_record_count(session)
        database = ComponentHealth(ok=True, detail=ledger.engine.dialect.name)
    except Exception as error:  # health must report, not fail
        database = ComponentHealth(ok=False, detail=f"{type(error).__name__}: {error}")
    try:
        chain = ledger.chain
        where = ledger.settings.chain_url or "embedded"
        chain_health = ChainHealth(ok=True, detail=where, chain_id=chain.chain_id, block_number=chain.block_number(), contract=chain.address)
    except TraceAnchorError as error:
        chain_health = ChainHealth(ok=False, detail=error.message)
    return Health(
        status="ok" if database.ok and chain_health.ok else "degraded",
        database=database,
        chain=chain_health,
        pending_records=pending,
    )
