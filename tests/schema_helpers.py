"""Driving the app through its own OpenAPI document with schemathesis, in process.

Shared by the per-operation run (tests/test_api_schemathesis.py) and the stateful one
(tests/test_api_stateful.py): the same checks of every response, and the same way of running the app.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.openapi import from_asgi
from schemathesis.python.asgi import ASGIApp

from service.api.app import create_app
from service.runtime import Runtime

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
"""No 5xx, a documented status and media type, a body conforming to the declared schema."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def api_schema_of(ledger: Runtime) -> Iterator:
    """The app's OpenAPI document, with requests sent in process over ASGI to an app whose lifespan
    (capture workers, chain connection) runs once for the whole block.

    schemathesis' pytest plugin stops an ASGI app's lifespan after every test, which would restart
    the capture worker processes per test; schemathesis gets the app with lifespan events refused
    (a server then runs an app without them) while the block runs the real lifespan.
    """
    app = create_app(runtime=ledger)
    with TestClient(app):
        yield from_asgi("/openapi.json", _without_lifespan(app))


def _without_lifespan(app: ASGIApp) -> ASGIApp:
    async def forward(scope, receive, send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)

    return forward
