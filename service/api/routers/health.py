"""Liveness and readiness: the database, the chain, and whether anchoring progresses."""

from fastapi import APIRouter

from service.api.deps import RuntimeDep
from service.api.schemas.health import HealthPublic
from service.health import check_health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic)
def health(ledger: RuntimeDep) -> HealthPublic:
    """No key needed, so load balancers can ask. Always 200 while the process answers: a degraded
    ledger still accepts records, so `status` (`ok` or `degraded`, with `reasons`) says the rest."""
    return HealthPublic.of(check_health(ledger))
