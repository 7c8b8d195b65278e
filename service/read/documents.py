"""Stored events as the standard returns them: an ``EPCISQueryDocument`` (or ``EPCISDocument``), EPCs
as captured or as GS1 Digital Links. Shared by the ``/epcis`` query answers and webhook deliveries (``service.notify``).

``Always_GS1_Digital_Link`` (the default) turns every EPC URN into its GS1 Digital Link
(``service.hashing.identifiers``); ``Never_Translates`` returns them as captured.

``Always_EPC_URN`` keeps every URN as captured and turns a Digital Link into its URN when its GS1
Company Prefix is known: the URN needs to know where the prefix ends inside the key, which a Digital
Link does not say. It is known from the URNs of the same event (any of its EPCs, classes, parent and
locations state their companies' prefixes; GS1 Company Prefixes are prefix-free, so a key starting
with one of those has that one), else from GS1's GCP length table when the operator configured it
(``service.hashing.company_prefixes``). A Digital Link whose prefix neither gives is returned as
captured, a Digital Link, rather than guessed.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from service.hashing.company_prefixes import CompanyPrefixLengths
from service.hashing.epc_urns import digital_link_to_urn
from service.hashing.identifiers import canonical_identifier
from service.ingest.validation.json_limits import stored_object
from service.models import Record

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
DEFAULT_EPC_FORMAT = "Always_GS1_Digital_Link"
URN_FORMAT = "Always_EPC_URN"
_EPC_LISTS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
_PLACES = ("readPoint", "bizLocation")


def event_of(record: Record, *, form: str, lengths: CompanyPrefixLengths | None = None) -> dict[str, Any]:
    """The stored event, with ``eventID`` (its CBV hash ID when it was captured without one), EPCs in
    ``form`` (``Always_EPC_URN``: company prefixes from the event's URNs, else from ``lengths``)."""
    parsed = stored_object(record.body)
    event = record.body if parsed is None else parsed
    if not isinstance(event, dict):  # a row that no longer parses: its text, so that reading does not fail
        return {"type": record.record_type, "eventID": record.business_id, "eventTime": _time(record.occurred_at),
                "eventTimeZoneOffset": "+00:00", "unparsableBody": event}
    event.setdefault("eventID", record.business_id)
    if form == DEFAULT_EPC_FORMAT:
        _translate(event, _link)
    elif form == URN_FORMAT:
        prefixes: set[str] = set()
        _translate(event, lambda value: _learn_prefix(value, prefixes))
        _translate(event, lambda value: _urn(value, sorted(prefixes), lengths or CompanyPrefixLengths()))
    return event


def query_document(records: list[Record], *, form: str = DEFAULT_EPC_FORMAT, query_name: str = "SimpleEventQuery",
                   lengths: CompanyPrefixLengths | None = None) -> dict[str, Any]:
    """An ``EPCISQueryDocument`` holding ``records`` in their order."""
    return {
        "@context": [CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(datetime.now(UTC)),
        "epcisBody": {"queryResults": {"queryName": query_name,
                                       "resultsBody": {"eventList": [event_of(record, form=form, lengths=lengths) for record in records]}}},
    }


def epcis_document(records: list[Record]) -> dict[str, Any]:
    """An ``EPCISDocument`` holding ``records`` in their order, EPCs as captured (``/v1``'s XML answers)."""
    return {
        "@context": [CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(datetime.now(UTC)),
        "epcisBody": {"eventList": [event_of(record, form="Never_Translates") for record in records]},
    }


def _translate(event: dict[str, Any], change: Callable[[str], str]) -> None:
    """Apply ``change`` to every identifier of ``event``: EPCs, classes, ``parentID``, locations."""
    for name in _EPC_LISTS:
        if isinstance(event.get(name), list):
            event[name] = [change(value) if isinstance(value, str) else value for value in event[name]]
    if isinstance(event.get("parentID"), str):
        event["parentID"] = change(event["parentID"])
    for name in _QUANTITY_LISTS:
        for item in event.get(name) or ():
            if isinstance(item, dict) and isinstance(item.get("epcClass"), str):
                item["epcClass"] = change(item["epcClass"])
    for name in _PLACES:
        place = event.get(name)
        if isinstance(place, dict) and isinstance(place.get("id"), str):
            place["id"] = change(place["id"])


def _link(value: str) -> str:
    """A URN's Digital Link (other values, and URNs with none, as they are)."""
    if value.startswith("urn:epc:"):
        return canonical_identifier(value) or value
    return value


def _learn_prefix(value: str, prefixes: set[str]) -> str:
    """Note the GS1 Company Prefix of a GS1 key URN (``urn:epc:id:sgtin:0614141.107346.2017``: 0614141)."""
    if value.startswith("urn:epc:") and canonical_identifier(value) is not None:
        prefixes.add(value.rsplit(":", 1)[1].split(".", 1)[0])
    return value


def _urn(value: str, prefixes: list[str], lengths: CompanyPrefixLengths) -> str:
    """A Digital Link's URN, by a GS1 Company Prefix its key starts with, else by ``lengths`` (other
    values, and Digital Links of unknown prefix, as they are)."""
    if value.startswith("urn:"):
        return value
    for prefix in prefixes:
        urn = digital_link_to_urn(value, len(prefix))
        if urn is not None and urn.rsplit(":", 1)[1].split(".", 1)[0] == prefix:
            return urn
    return epc_urn(value, lengths)


def epc_urn(link: str, lengths: CompanyPrefixLengths) -> str:
    """``link``'s EPC URN when ``lengths`` knows its company prefix, else ``link`` as it is."""
    length = lengths.length_of(link)
    return (digital_link_to_urn(link, length) if length is not None else None) or link


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
