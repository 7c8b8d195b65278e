"""EPCIS 2.0 JSON-LD documents as EPCIS 2.0 XML documents (``EPCISDocument``, ``EPCISQueryDocument``).

The JSON document is the one source: the query answers of ``service.read.documents`` (EPCs already
in the form the client asked for) and the stored events are written as they are, so the XML says
what the JSON says. Prefixes that name one namespace throughout are declared once, on the root.
"""

from collections.abc import Mapping
from datetime import UTC, datetime

from lxml import etree

from service.errors import NotAcceptable
from service.hashing import HashingError, events_of
from service.hashing.vocabulary import namespaces_of
from service.read.xml.events import write_event

EPCIS = "urn:epcglobal:epcis:xsd:2"
EPCIS_QUERY = "urn:epcglobal:epcis-query:xsd:2"
SCHEMA_VERSION = "2.0"


def document_xml(document: Mapping[str, object], *, indent: bool = False) -> bytes:
    """``document`` (an EPCISDocument, an EPCISQueryDocument or a single event, in JSON-LD) as
    UTF-8 XML with its declaration; an EPCISQueryDocument keeps ``queryName`` and ``subscriptionID``.
    ``indent`` lays it out for people (files); answers stay compact."""
    try:
        events = events_of(dict(document))
    except HashingError as error:
        raise NotAcceptable(f"not an EPCIS document: {error}", field="epcisBody") from None
    query = document.get("type") == "EPCISQueryDocument"
    root = etree.Element(f"{{{EPCIS_QUERY}}}EPCISQueryDocument" if query else f"{{{EPCIS}}}EPCISDocument",
                         nsmap={"epcisq": EPCIS_QUERY} if query else {"epcis": EPCIS})
    root.set("schemaVersion", SCHEMA_VERSION)
    root.set("creationDate", _text(document.get("creationDate")) or _now())
    body = etree.SubElement(root, "EPCISBody")
    if query:
        results = _query_results(document)
        holder = etree.SubElement(body, f"{{{EPCIS_QUERY}}}QueryResults")
        etree.SubElement(holder, "queryName").text = _text(results.get("queryName")) or "SimpleEventQuery"
        if results.get("subscriptionID") is not None:
            etree.SubElement(holder, "subscriptionID").text = _text(results["subscriptionID"])
        body = etree.SubElement(holder, "resultsBody")
    event_list = etree.SubElement(body, "EventList")
    where = "epcisBody.queryResults.resultsBody.eventList" if query else "epcisBody.eventList"
    declared: dict[str, set[str]] = {}
    for index, event in enumerate(events):
        write_event(event_list, event, namespaces=namespaces_of(event.get("@context")), where=f"{where}[{index}]",
                    declared=declared)
    shared = {prefix: namespaces.pop() for prefix, namespaces in declared.items() if len(namespaces) == 1}
    etree.cleanup_namespaces(root, top_nsmap=shared)  # each shared prefix declared once, on the root
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=indent)


def _query_results(document: Mapping[str, object]) -> Mapping[str, object]:
    body = document.get("epcisBody")
    results = body.get("queryResults") if isinstance(body, Mapping) else None
    return results if isinstance(results, Mapping) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
