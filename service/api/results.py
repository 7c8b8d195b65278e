"""Answers to large submissions are built and serialised in a thread, not on the event loop.

Answering a 10,000-event document is a long stretch of pure Python (building the result, FastAPI
validating and serialising it). On the event loop it stalled every other request of the worker, so
each large document delayed other suppliers' small writes by as much.
"""

from collections.abc import Callable

from fastapi import Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

#: Results of up to this many items are answered on the event loop, where a thread hop would cost more.
INLINE_ITEMS = 256


async def answer(build: Callable[[], BaseModel], *, items: int, status_code: int) -> BaseModel | Response:
    """``build()`` for FastAPI to serialise (a small result), or the JSON response of it made in a
    thread (a large one: the endpoint's ``response_model`` still documents it)."""
    if items <= INLINE_ITEMS:
        return build()

    def render() -> Response:
        return Response(build().model_dump_json(), status_code=status_code, media_type="application/json")

    return await run_in_threadpool(render)
