"""How ``/epcis`` answers: collections of names, and query documents (``service.read.documents``)
with EPCs in the form the client's ``GS1-EPC-Format`` header asks for.

``Always_GS1_Digital_Link`` (the default, and ``No_Preference``) turns every EPC URN into its GS1
Digital Link (``service.hashing.identifiers``); ``Never_Translates`` returns them as captured.
``Always_EPC_URN`` is refused (406): Digital Link to URN is not implemented.
"""

from typing import Literal

from pydantic import BaseModel, Field

from service.errors import NotAcceptable
from service.read.documents import DEFAULT_EPC_FORMAT, event_of, query_document

EPC_FORMATS = ("No_Preference", "Always_GS1_Digital_Link", "Always_EPC_URN", "Never_Translates")
__all__ = ["DEFAULT_EPC_FORMAT", "EPC_FORMATS", "Collection", "NotAcceptable", "epc_format", "event_of", "query_document"]


class Collection(BaseModel):
    """The standard's collection of names (``GET /epcis/``, ``/epcis/bizSteps``, ...)."""

    type: Literal["Collection"] = "Collection"
    member: list[str] = Field(description="The names, each a path segment under the collection.")
    nextPageToken: str | None = Field(default=None, description="The token of the next page (absent on the last).")


def epc_format(header: str | None) -> str:
    """The form EPCs are returned in, from the ``GS1-EPC-Format`` request header."""
    chosen = (header or DEFAULT_EPC_FORMAT).strip()
    if chosen not in EPC_FORMATS:
        raise NotAcceptable(f"GS1-EPC-Format: one of {', '.join(EPC_FORMATS)}, not {chosen!r}", field="GS1-EPC-Format")
    if chosen == "Always_EPC_URN":
        raise NotAcceptable("GS1-EPC-Format: Always_EPC_URN is not supported; use Always_GS1_Digital_Link or Never_Translates",
                            field="GS1-EPC-Format")
    return DEFAULT_EPC_FORMAT if chosen == "No_Preference" else chosen
