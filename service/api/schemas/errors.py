"""The body of every error response."""

from pydantic import BaseModel, Field


class ErrorItemPublic(BaseModel):
    """One problem of a refused input, the same shape whichever layer found it (service.errors.ErrorItem)."""

    field: str = Field(description="The field at fault: a JSON path such as `epcisBody.eventList[3].bizStep` or "
                                   "`[2].lines[0].quantity`, a parameter's name, or `$` for the whole body.")
    message: str
    index: int | None = Field(None, description="The position of the item it belongs to in a submission of several "
                                                "(an event of a document, a transaction of a list).")


class ErrorPublic(BaseModel):
    """The body of every error response, whichever layer (auth, parameters, domain, body limit) refused."""

    error: str = Field(description="The kind of error, e.g. SchemaViolation, InvalidParameter, NotFound, Unauthorized.")
    detail: str
    field: str | None = Field(description="The parameter or record field at fault, when there is one.")
    errors: list[ErrorItemPublic] | None = Field(
        None, description="Every problem found, for invalid input (422): at least the first.")


RESPONSE_HEADERS = {
    429: {"Retry-After": {"description": "Seconds to wait before the key may send again.",
                          "schema": {"type": "integer", "minimum": 1}}},
}
"""Headers documented with an error status, whatever the error's body (here, or RFC 7807 under /epcis)."""
