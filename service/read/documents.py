"""Stored events as the standard returns them: an ``EPCISQueryDocument`` (or ``EPCISDocument``), EPCs
as captured or as GS1 Digital Links. Shared by the ``/epcis`` query answers and webhook deliveries (``service.notify``).

``Always_GS1_Digital_Link`` (the default) turns every EPC URN into its GS1 Digital Link
(``service.hashing.identifiers``); ``Never_Translates`` returns them as captured.
"""

from datetime import UTC, datetime
from typing import Any

from service.hashing.identifiers import canonical_identifier
from service.ingest.validation.json_limits import stored_object
from service.models import Record

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
DEFAULT_EPC_FORMAT = "Always_GS1_Digital_Link"
_EPC_LISTS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
_PLACES = ("readPoint", "bizLocation")


def event_of(record: Record, *, form: str) -> dict[str, Any]:
    """The stored event, with ``eventID`` (its CBV hash ID when it was captured without one), EPCs in ``form``."""
    parsed = stored_object(record.body)
    event = record.body if parsed is None else parsed
    if not isinstance(event, dict):  # a row that no longer parses: its text, so that reading does not fail
        return {"type": record.record_type, "eventID": record.business_id, "eventTime": _time(record.occurred_at),
                "eventTimeZoneOffset": "+00:00", "unparsableBody": event}
    event.setdefault("eventID", record.business_id)
    if form == DEFAULT_EPC_FORMAT:
        _to_digital_links(event)
    return event


def query_document(records: list[Record], *, form: str = DEFAULT_EPC_FORMAT, query_name: str = "SimpleEventQuery") -> dict[str, Any]:
    """An ``EPCISQueryDocument`` holding ``records`` in their order."""
    return {
        "@context": [CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(datetime.now(UTC)),
        "epcisBody": {"queryResults": {"queryName": query_name,
                                       "resultsBody": {"eventList": [event_of(record, form=form) for record in records]}}},
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


def _to_digital_links(event: dict[str, Any]) -> None:
    for name in _EPC_LISTS:
        if isinstance(event.get(name), list):
            event[name] = [_link(value) for value in event[name]]
    if isinstance(event.get("parentID"), str):
        event["parentID"] = _link(event["parentID"])
    for name in _QUANTITY_LISTS:
        for item in event.get(name) or ():
            if isinstance(item, dict) and isinstance(item.get("epcClass"), str):
                item["epcClass"] = _link(item["epcClass"])
    for name in _PLACES:
        place = event.get(name)
        if isinstance(place, dict) and isinstance(place.get("id"), str):
            place["id"] = _link(place["id"])


def _link(value: object) -> object:
    """A URN's Digital Link (other values, and URNs with none, as they are)."""
    if isinstance(value, str) and value.startswith("urn:epc:"):
        return canonical_identifier(value) or value
    return value


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
