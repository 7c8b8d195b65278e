"""How ``/epcis`` answers: collections of names, and query documents (``service.read.documents``)
with EPCs in the form the client's ``GS1-EPC-Format`` header asks for.

``Always_GS1_Digital_Link`` (the default, and ``No_Preference``) turns every EPC URN into its GS1
Digital Link (``service.hashing.identifiers``); ``Never_Translates`` returns them as captured.
``Always_EPC_URN`` keeps URNs as captured and turns a Digital Link into its URN where the event names
its GS1 Company Prefix (``service.read.documents`` says why only there).
"""

from typing import Any, Literal

from pydantic import BaseModel, Field, RootModel

from service.errors import NotAcceptable
from service.read.documents import CONTEXT, DEFAULT_EPC_FORMAT, URN_FORMAT, epc_urn, event_of, query_document

EPC_FORMATS = ("No_Preference", "Always_GS1_Digital_Link", "Always_EPC_URN", "Never_Translates")
__all__ = ["CONTEXT", "DEFAULT_EPC_FORMAT", "EPC_FORMATS", "URN_FORMAT", "Collection", "NotAcceptable", "epc_format", "epc_urn",
           "event_of", "query_document"]


class Collection(BaseModel):
    """The standard's collection of names (``GET /epcis/``, ``/epcis/bizSteps``, ...)."""

    context: str = Field(default=CONTEXT, serialization_alias="@context", description="The EPCIS 2.0 JSON-LD context.")
    type: Literal["Collection"] = "Collection"
    member: list[str] = Field(description="The names, each a path segment under the collection.")
    nextPageToken: str | None = Field(default=None, description="The token of the next page (absent on the last).")


class QueryDocument(RootModel[dict[str, Any]]):
    """An EPCISQueryDocument, as the official EPCIS 2.0 JSON Schema defines it (the tests validate every
    answer against that schema, which OpenAPI 3.0 cannot embed)."""


class CapturedEvent(RootModel[dict[str, Any]]):
    """One EPCIS event as stored, with its ``eventID`` (the official EPCIS 2.0 JSON Schema's event)."""


def epc_format(header: str | None) -> str:
    """The form EPCs are returned in, from the ``GS1-EPC-Format`` request header."""
    chosen = (header or DEFAULT_EPC_FORMAT).strip()
    if chosen not in EPC_FORMATS:
        raise NotAcceptable(f"GS1-EPC-Format: one of {', '.join(EPC_FORMATS)}, not {chosen!r}", field="GS1-EPC-Format")
    return DEFAULT_EPC_FORMAT if chosen == "No_Preference" else chosen
