"""The errors of ``/epcis`` as RFC 7807 problems (``application/problem+json``), whose ``type`` is the
EPCIS exception name the standard gives for the failure (``epcisException:QueryParameterException``).

This is the one table from the domain error hierarchy (``service.errors``) and from HTTP refusals to
those names; ``service.api.errors`` calls it for every error under ``/epcis``, so ``/v1`` keeps its
own shape. The standard answers 400 where ``/v1`` answers 422 (a bad parameter or body).
"""

from http import HTTPStatus

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from service.api.schemas.errors import RESPONSE_HEADERS
from service.errors import (
    ChainError,
    Conflict,
    ErrorItem,
    Forbidden,
    InvalidInput,
    InvalidParameter,
    NotFound,
    NotServed,
    TooManyResults,
    TraceAnchorError,
)
from service.ingest.validation.epcis import TooManyEvents
from service.ingest.xml.parser import XmlInvalid

PREFIX = "/epcis"
MEDIA_TYPE = "application/problem+json"

# Most specific class first: the first match decides.
_DOMAIN = (
    (TooManyEvents, 413, "CaptureLimitExceededException"),
    (InvalidParameter, 400, "QueryParameterException"),
    (XmlInvalid, 422, "ValidationException"),  # XML not well-formed, hostile or against the XSDs (as the XML capture issue asks)
    (InvalidInput, 400, "ValidationException"),
    (TooManyResults, 413, "QueryTooLargeException"),
    (NotFound, 404, "NoSuchNameException"),
    (Forbidden, 403, "SecurityException"),
    (Conflict, 409, "ResourceAlreadyExistsException"),
    (ChainError, None, "ImplementationException"),
    (NotServed, 501, "ImplementationException"),
)
_BY_STATUS = {
    401: "SecurityException",
    403: "SecurityException",
    404: "NoSuchNameException",
    406: "NotAcceptableException",
    413: "CaptureLimitExceededException",
    414: "URITooLongException",
    415: "UnsupportedMediaTypeException",
}


class Problem(BaseModel):
    """An RFC 7807 problem, as every error under ``/epcis`` is answered."""

    type: str = Field(description="`epcisException:<name>`, the standard's exception; `about:blank` where it names none.")
    title: str = Field(description="The HTTP reason phrase.")
    status: int
    detail: str
    field: str | None = Field(default=None, description="The parameter, header or body field at fault.")
    errors: list[dict] | None = Field(default=None, description="Every problem found: `field`, `message`, `index`?")


_MEANING = {
    400: "QueryParameterException (a parameter unknown or malformed, named in `field`) or ValidationException.",
    401: "SecurityException: no valid API key.",
    403: "SecurityException: the key's role may not do this.",
    404: "NoSuchNameException.",
    406: "NotAcceptableException: an `Accept` (JSON-LD, JSON or EPCIS 2.0 XML) or `GS1-EPC-Format` this server cannot give.",
    413: "QueryTooLargeException: more events match than `maxEventCount`; CaptureLimitExceededException: a body over the capture limits.",
    409: "ResourceAlreadyExistsException: the party already captured this event, or has a resource of that name.",
    415: "UnsupportedMediaTypeException: the body is neither JSON nor XML.",
    422: "ValidationException: an XML body that is not well-formed, refused as hostile or beyond the bounds, or "
         "against the EPCIS XSDs (`errors` name each event's `index` and the element at fault).",
    429: "The key is over its rate limit; retry after `Retry-After` seconds.",
    501: "ImplementationException: an optional part of the standard this server does not serve.",
}


def problem_responses(*codes: int) -> dict[int | str, dict]:
    """OpenAPI ``responses`` for these statuses, each an ``application/problem+json`` :class:`Problem`
    (with the headers it comes with, e.g. 429's ``Retry-After``)."""
    return {code: {"description": _MEANING[code], "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                   **({"headers": RESPONSE_HEADERS[code]} if code in RESPONSE_HEADERS else {})}
            for code in codes}


def applies(path: str) -> bool:
    """Whether a request to ``path`` is answered with problems."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def domain_problem(error: TraceAnchorError) -> JSONResponse:
    """The problem of a domain error: its standard exception, status and the field at fault."""
    for kind, status, name in _DOMAIN:
        if isinstance(error, kind):
            return problem(status or error.status_code, name, error.message, field=error.field,
                           errors=getattr(error, "errors", ()), headers=getattr(error, "headers", None))
    return problem(error.status_code, _BY_STATUS.get(error.status_code), error.message, field=error.field,
                   headers=getattr(error, "headers", None))


def http_problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The problem of an HTTP refusal (no key, wrong role, unknown route or method)."""
    return problem(status, _BY_STATUS.get(status), detail, headers=headers)


def validation_problem(errors: list[ErrorItem], *, parameters_only: bool) -> JSONResponse:
    """A request FastAPI refused: the parameters (QueryParameterException) or the body (ValidationException)."""
    first = errors[0]
    name = "QueryParameterException" if parameters_only else "ValidationException"
    return problem(400, name, f"{first.field}: {first.message}", field=first.field, errors=errors)


def problem(status: int, exception: str | None, detail: str, *, field: str | None = None,
            errors=(), headers: dict[str, str] | None = None) -> JSONResponse:
    """An RFC 7807 body: ``type`` is the EPCIS exception (``about:blank`` where the standard names
    none, e.g. 429), ``title`` the HTTP reason, plus the field at fault and every problem found."""
    body = {
        "type": f"epcisException:{exception}" if exception else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if field is not None:
        body["field"] = field
    if errors:
        body["errors"] = [{"field": item.field, "message": item.message, **({"index": item.index} if item.index is not None else {})}
                          for item in errors]
    return JSONResponse(status_code=status, content=body, headers=headers, media_type=MEDIA_TYPE)
