"""Liveness and readiness: the database, the chain, and whether anchoring progresses."""

from fastapi import APIRouter

from service.api.deps import RuntimeDep
from service.api.schemas import Health
from service.health import check_health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(ledger: RuntimeDep) -> Health:
    """No key needed, so load balancers can ask. Always 200 while the process answers: a degraded
    ledger still accepts records, so `status` (`ok` or `degraded`, with `reasons`) says the rest."""
    return Health.model_validate(check_health(ledger), from_attributes=True)
