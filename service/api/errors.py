"""One place that turns errors into JSON (domain errors, request validation, auth refusals) and
documents them: every router declares its error statuses with :func:`error_responses`.

Under ``/epcis`` the same errors are RFC 7807 problems instead (``service.api.epcis.problems``)."""

from collections.abc import Sequence
from dataclasses import asdict
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from service.api.epcis import problems
from service.api.schemas.errors import RESPONSE_HEADERS, ErrorPublic
from service.errors import ErrorItem, TraceAnchorError

_MEANING = {
    400: "The body is not UTF-8 text, so it cannot be parsed at all.",
    401: "No valid API key was presented.",
    403: "The key's role (or party) may not do this.",
    404: "No such record, batch or key.",
    406: "The `Accept` header names no representation this endpoint answers with (`field` is Accept).",
    409: "The request contradicts the stored state (e.g. a proof of a record not anchored yet).",
    413: "The body, or the number of records in it, is over the limit (or, for a query, more events match than `maxEventCount`).",
    415: "The body's Content-Type is not one this endpoint reads (`field` is Content-Type).",
    422: "A parameter or the body is invalid; `field` names the culprit, `errors` lists every problem.",
    429: "The key made more requests than its rate limit allows; retry after `Retry-After` seconds.",
    502: "The chain answered, but not as expected.",
    503: "The chain cannot be reached right now; retry later.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, all with the :class:`ErrorPublic` body.

    Wherever a key is checked (401), so is its rate limit: 429 comes with 401.
    """
    if 401 in codes:
        codes = (*codes, 429)
    return {code: {"model": ErrorPublic, "description": _MEANING[code], **({"headers": RESPONSE_HEADERS[code]} if code in RESPONSE_HEADERS else {})}
            for code in codes}


def error_body(*, error: str, detail: str, field: str | None = None, errors: Sequence[ErrorItem] = ()) -> dict:
    """The JSON shape of every error response (:class:`ErrorPublic`)."""
    body = {"error": error, "detail": detail, "field": field}
    if errors:
        body["errors"] = [asdict(item) for item in errors]
    return body


async def domain_error(request: Request, exc: TraceAnchorError) -> JSONResponse:
    """Domain errors carry their own status code and the field at fault."""
    if problems.applies(request.url.path):
        return problems.domain_problem(exc)
    return JSONResponse(
        status_code=exc.status_code,
        content=error_body(error=type(exc).__name__, detail=exc.message, field=exc.field, errors=getattr(exc, "errors", ())),
        headers=getattr(exc, "headers", None),
    )


async def request_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's and the body models' validation errors, reworded so the first line names the field:
    ``InvalidParameter`` when only path or query parameters are at fault, else ``InvalidRequest``."""
    errors = [
        ErrorItem(field=".".join(str(part) for part in error["loc"][1:]) or str(error["loc"][0]), message=error["msg"])
        for error in exc.errors()
    ] or [ErrorItem(field="$", message="invalid request")]
    places = {error["loc"][0] for error in exc.errors()}
    kind = "InvalidParameter" if places and places <= {"path", "query"} else "InvalidRequest"
    if problems.applies(request.url.path):
        return problems.validation_problem(errors, parameters_only=kind == "InvalidParameter")
    first = errors[0]
    return JSONResponse(
        status_code=422,
        content=error_body(error=kind, detail=f"{first.field}: {first.message}", field=first.field, errors=errors),
    )


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Auth refusals (401, 403) and unknown routes (404, 405), in the same shape as every other error."""
    if problems.applies(request.url.path):
        return problems.http_problem(exc.status_code, str(exc.detail), exc.headers)
    return JSONResponse(
        status_code=exc.status_code,
        content=error_body(error=HTTPStatus(exc.status_code).phrase.replace(" ", ""), detail=str(exc.detail)),
        headers=exc.headers,
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(TraceAnchorError, domain_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_validation_error)
