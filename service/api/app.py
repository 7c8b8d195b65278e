"""The application factory: routers under /v1, the EPCIS 2.0 binding under /epcis, the error handler, the body limit, the access log, the anchoring and webhook delivery loops."""

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import RedirectResponse

from service.api import errors
from service.api.access_log import AccessLog
from service.api.epcis import binding
from service.api.deps import plain_parameters, reject_unknown_query_parameters
from service.api.limits import BodySizeLimit
from service.api.routers import anchors, baskets, events, forecast, fraud, grants, health, keys, parties, provenance, transactions
from service.api.schemas.common import component_schemas
from service.errors import TraceAnchorError
from service.runtime import Runtime
from service.settings import Settings
from service.ingest.validation.json_limits import sane_recursion_limit

log = logging.getLogger(__name__)
ROUTERS = (health, events, transactions, provenance, grants, parties, anchors, keys, baskets, forecast, fraud)


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; it opens (or uses) a runtime for its lifetime and anchors in the background."""
    settings = runtime.settings if runtime is not None else settings or Settings()
    sane_recursion_limit()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = runtime or Runtime(settings)
        stop = threading.Event()
        try:
            app.state.runtime.connect()  # so the first request does not wait for a deployment
        except TraceAnchorError as error:
            log.warning("chain not available at start-up (records are accepted and anchored later): %s", error)
        app.state.runtime.capture.start()
        app.state.runtime.capture_jobs.start()  # first runs the jobs a stopped process left unfinished
        workers = []
        if settings.anchor_in_background:
            workers.append(threading.Thread(target=app.state.runtime.anchoring.run, args=(stop,), name="anchoring", daemon=True))
        if settings.deliver_in_background:
            workers.append(threading.Thread(target=app.state.runtime.deliveries.run, args=(stop,), name="webhooks", daemon=True))
        for worker in workers:
            worker.start()
        try:
            yield
        finally:
            stop.set()
            app.state.runtime.capture.stop()
            app.state.runtime.capture_jobs.stop()
            for worker in workers:
                worker.join(timeout=30)
            if runtime is None:
                app.state.runtime.close()

    app = FastAPI(
        title="traceanchor",
        version="0.1.0",
        summary="Blockchain-anchored supply-chain traceability: EPCIS 2.0 events and transactions, verified on Ethereum.",
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog)  # added last, so outermost: refusals by the other middleware are logged too
    errors.install(app)
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(plain_parameters), Depends(reject_unknown_query_parameters)])
    for module in ROUTERS:
        v1.include_router(module.router)
    app.include_router(v1)
    app.include_router(binding.build())
    app.add_api_route("/", _index, include_in_schema=False)
    app.openapi = lambda: _openapi(app)
    return app


def _index() -> RedirectResponse:
    """``/`` leads to the API docs for now (temporarily: it is where an explorer will live)."""
    return RedirectResponse("/docs", status_code=307)


def _openapi(app: FastAPI) -> dict:
    """FastAPI's OpenAPI document, plus the models of bodies that routes parse themselves (so that
    FastAPI does not know them): each router lists them in ``BODY_MODELS``."""
    if app.openapi_schema is None:
        document = FastAPI.openapi(app)
        models = [model for module in ROUTERS for model in getattr(module, "BODY_MODELS", ())] + list(binding.MODELS)
        document.setdefault("components", {}).setdefault("schemas", {}).update(component_schemas(*models))
    return app.openapi_schema
