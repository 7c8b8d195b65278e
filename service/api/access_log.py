"""One access-log line per request, and a request id that ties the line to the client's answer.

The id is the client's ``X-Request-ID`` when it is a sane token (so a caller can follow its own
request through our log), else a new random one; either way it is echoed in the response's
``X-Request-ID`` header. The line goes to the ``service.api.access`` logger at INFO, which
``traceanchor serve`` shows by default.
"""

import logging
import re
import time
import uuid

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("service.api.access")

HEADER = "X-Request-ID"
#: A client's id is used only if it is this: short, printable, no spaces (nothing to forge a log line with).
SANE_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")


class AccessLog:
    """ASGI middleware: ``METHOD path status duration request_id`` per HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = Headers(scope=scope).get(HEADER, "")
        if not SANE_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex
        status = 500  # what the client gets if the app fails before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), (HEADER.lower().encode(), request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            log.info("%s %s %d %.1f ms request_id=%s", scope["method"], _path(scope), status, elapsed, request_id)


def _path(scope: Scope) -> str:
    """The path as the client sent it (percent-encoded), escaped so that nothing in it breaks the line."""
    raw = scope.get("raw_path") or scope["path"].encode()
    return raw.decode("latin-1").encode("unicode_escape").decode("ascii")
