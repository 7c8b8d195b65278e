"""Models every resource shares: the page base, whose data an analysis covers, what verification left out."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.ingest.validation.json_limits import stored_object
from service.models import Record

MAX_PARTY_CHARS = 200
"""The longest party name (keys, grants, submitters)."""


class PageBase(BaseModel):
    """What every listing answers besides its items."""

    nextPageToken: str | None = Field(
        None, description="Send it back (as the `nextPageToken` parameter, other parameters unchanged) for the next "
        "page; null on the last page. Opaque and signed: only this server's tokens are accepted."
    )


class DataScopePublic(BaseModel):
    """Whose records an analytics answer covers."""

    model_config = ConfigDict(from_attributes=True)

    all_parties: bool = Field(description="True for auditors and admins: every party's records.")
    parties: list[str] | None = Field(description="Otherwise: the asking party and the parties that shared their records with it.")


class ExcludedPublic(BaseModel):
    """Records an analysis left out: those that did not verify, and EPCIS events declared erroneous and
    their error declarations (neither is a business fact to count)."""

    model_config = ConfigDict(from_attributes=True)

    total: int
    by_status: dict[str, int] = Field(description="Verification status (`pending`, `tampered`, `not_on_chain`), "
                                      "`declared_erroneous` or `error_declaration` -> number of records left out.")


def stored_body(record: Record) -> dict[str, Any] | str:
    """A record's body for display: parsed, or as stored when it does not parse as JSON the API can
    return (an edit broke it, or it nests too deep): reading must not fail."""
    body = stored_object(record.body)
    return record.body if body is None else body


def component_schemas(*models: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """OpenAPI ``components.schemas`` entries for ``models`` and the models they use, as they
    validate requests (for bodies that routes parse themselves, which FastAPI cannot see)."""
    schemas: dict[str, dict[str, Any]] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
        schemas |= schema.pop("$defs", {}) | {model.__name__: schema}
    return schemas
