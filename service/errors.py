"""The domain error hierarchy: one base class, one HTTP-ish status per kind of failure.

Library code raises these; the CLI prints them and the API maps them to JSON errors in one
handler, so no caller needs to know about HTTP.

Every refusal of bad input, whichever layer finds it (request parsing, the EPCIS schema, the meaning
of a transaction, a query parameter), lists its problems as :class:`ErrorItem` objects, built here and
nowhere else, so that a client reads one shape.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self


class TraceAnchorError(Exception):
    """Base of every domain error."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __reduce__(self) -> tuple:
        """Pickle by state rather than by constructor arguments, which subclasses may change:
        errors raised in worker processes travel back to the API process (service.ingest.capture)."""
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[TraceAnchorError], args: tuple, state: dict) -> TraceAnchorError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


@dataclass(frozen=True)
class ErrorItem:
    """One problem of a refused input: the field at fault (a JSON path such as
    ``epcisBody.eventList[3].bizStep`` or ``[2].lines[0].quantity``, a parameter's name, or ``$`` for
    the whole body), what is wrong, and the position of the item it belongs to in a submission of
    several (an event of a document, a transaction of a list; None otherwise)."""

    field: str
    message: str
    index: int | None = None


class InvalidInput(TraceAnchorError):
    """Input refused as invalid (422); ``errors`` lists every problem found, at least the first."""

    status_code = 422

    def __init__(self, message: str, *, field: str | None = None, errors: Sequence[ErrorItem] = ()) -> None:
        super().__init__(message, field=field)
        self.errors = list(errors) or ([ErrorItem(field=field, message=message)] if field is not None else [])

    @classmethod
    def of(cls, errors: Sequence[ErrorItem], *, detail: str | None = None) -> Self:
        """The error for ``errors`` (at least one): ``detail`` (default: the first problem's message)
        and the number of the others."""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return cls((detail or errors[0].message) + more, field=errors[0].field, errors=errors)


class InvalidRecord(InvalidInput):
    """A submitted record or request body is malformed or meaningless; ``field`` names the culprit."""


class InvalidParameter(InvalidInput):
    """A query or path parameter is unknown, malformed or out of range; ``field`` names it."""


class NotFound(TraceAnchorError):
    """The requested record, batch or key does not exist."""

    status_code = 404


class NotAcceptable(TraceAnchorError):
    """The client asks for a representation this server cannot give (``Accept``, ``GS1-EPC-Format``),
    or a record cannot be written in the one asked for; ``field`` names the header or the record's field."""

    status_code = 406


class TooManyResults(TraceAnchorError):
    """A query matches more results than the caller allowed (EPCIS ``maxEventCount``); ``field`` names the limit."""

    status_code = 413


class Conflict(TraceAnchorError):
    """The request contradicts the stored state (e.g. a reused business id with other content)."""

    status_code = 409


class ChainError(TraceAnchorError):
    """The chain answered, but not as expected (revert, wrong contract, failed receipt)."""

    status_code = 502


class ChainUnavailable(ChainError):
    """The chain cannot be reached right now; the operation may be retried later."""

    status_code = 503


class Forbidden(TraceAnchorError):
    """The caller's role or party may not do this with this record."""

    status_code = 403


class IntegrityFailure(TraceAnchorError):
    """Something the service stored for itself was changed behind its back (a broken seal)."""

    status_code = 409


class NotServed(TraceAnchorError):
    """An optional part of a standard this server does not serve (the standard lets it answer 501)."""

    status_code = 501


class ConfigurationError(TraceAnchorError):
    """A setting cannot be used as given (``field`` names it): the process does not start with it."""

    status_code = 500


class SchemaError(TraceAnchorError):
    """The database holds a schema this release cannot use or upgrade."""

    status_code = 503


class RateLimited(TraceAnchorError):
    """The caller's key is over its request rate (``service.access.rate_limit``); ``retry_after``
    is the seconds until it may send again."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        """``Retry-After`` in whole seconds, rounded up (at least 1)."""
        return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}
