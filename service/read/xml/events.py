"""One EPCIS 2.0 JSON-LD event as the element the EPCIS 2.0 XML schema defines for it.

The XSD fixes the order of every event type's children (the JSON form has none), writes sensor
metadata and reports as attributes, lists as repeated elements and user extensions as elements in
their own namespace. Namespaces come from the event's ``@context``: ``"ext1:float"`` with
``{"ext1": "http://example.com/ext1/"}`` becomes ``<ext1:float xmlns:ext1="http://example.com/ext1/">``,
so the Event Hash ID of the XML equals that of the JSON (both write extension names
``{namespace}local``). CBV terms (short, CURIE or web URI) become the ``urn:epcglobal:cbv:...`` URNs
that EPCIS 1.2 and 2.0 XML readers both know, other GS1 terms their web URI (XML has no JSON-LD
context to expand them), CURIEs of IRI-typed fields their full IRI.
"""

from collections.abc import Callable, Mapping

from lxml import etree

from service.errors import NotAcceptable
from service.hashing.vocabulary import (
    BIZ_STEPS,
    BIZ_TRANSACTION_TYPES,
    DISPOSITIONS,
    ERROR_REASONS,
    MEASUREMENT_TYPES,
    SENSOR_COMPONENTS,
    SENSOR_EXCEPTIONS,
    SOURCE_DESTINATION_TYPES,
)
from service.ingest.xml.names import EVENT_SEQUENCE
from service.read.xml.writer import Namespaces, Writer, decimal_of, text_of



_SENSOR_METADATA_IRIS = ("deviceID", "deviceMetadata", "rawData", "bizRules", "dataProcessingMethod")
_SENSOR_REPORT_TERMS = {"type": MEASUREMENT_TYPES, "component": SENSOR_COMPONENTS, "exception": SENSOR_EXCEPTIONS}
_SENSOR_REPORT_IRIS = ("deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "microorganism",
                       "chemicalSubstance", "uriValue", "coordinateReferenceSystem")


# ---- the event's children, one writer per standard field --------------------------------------

Field = Callable[[Writer, etree._Element, object, str], None]


def _simple(terms: Mapping[str, str] | None = None, *, iri: bool = False) -> Field:
    def write(writer: Writer, parent: etree._Element, value: object, name: str) -> None:
        element = etree.SubElement(parent, name)
        element.text = writer.iri(value, terms) if iri or terms is not None else text_of(value)
    return write


def _epcs(writer: Writer, parent: etree._Element, value: object, name: str) -> None:
    listed = etree.SubElement(parent, name)
    for epc in _list(value):
        etree.SubElement(listed, "epc").text = writer.iri(epc)


def _quantities(writer: Writer, parent: etree._Element, value: object, name: str) -> None:
    listed = etree.SubElement(parent, name)
    for item in _list(value):
        element = etree.SubElement(listed, "quantityElement")
        etree.SubElement(element, "epcClass").text = writer.iri(item.get("epcClass"))
        if item.get("quantity") is not None:
            etree.SubElement(element, "quantity").text = decimal_of(item["quantity"])
            if item.get("uom") is not None:
                etree.SubElement(element, "uom").text = text_of(item["uom"])


def _place(writer: Writer, parent: etree._Element, value: object, name: str) -> None:
    element = etree.SubElement(parent, name)
    etree.SubElement(element, "id").text = writer.iri(value.get("id"))
    writer.extensions(element, value, ("id",), f"{writer.where}.{name}")


def _typed(item_name: str, terms: Mapping[str, str]) -> Field:
    """bizTransactionList, sourceList, destinationList: the reference as text, its type as attribute."""
    def write(writer: Writer, parent: etree._Element, value: object, name: str) -> None:
        listed = etree.SubElement(parent, name)
        for item in _list(value):
            element = etree.SubElement(listed, item_name)
            if item.get("type") is not None:
                element.set("type", writer.iri(item["type"], terms))
            element.text = writer.iri(item.get(item_name))
    return write


def _sensors(writer: Writer, parent: etree._Element, value: object, name: str) -> None:
    listed = etree.SubElement(parent, name)
    for index, item in enumerate(_list(value)):
        field = f"{writer.where}.{name}[{index}]"
        element = etree.SubElement(listed, "sensorElement")
        if isinstance(item.get("sensorMetadata"), dict):
            writer.attributed(element, "sensorMetadata", item["sensorMetadata"], f"{field}.sensorMetadata",
                              iris=_SENSOR_METADATA_IRIS, terms={})
        for number, report in enumerate(_list(item.get("sensorReport"))):
            writer.attributed(element, "sensorReport", report, f"{field}.sensorReport[{number}]",
                              iris=_SENSOR_REPORT_IRIS, terms=_SENSOR_REPORT_TERMS)
        writer.extensions(element, item, ("sensorMetadata", "sensorReport"), field)


def _persistent(writer: Writer, parent: etree._Element, value: object, name: str) -> None:
    element = etree.SubElement(parent, name)
    for change in ("unset", "set"):  # the XSD's order
        for disposition in _list(value.get(change)):
            etree.SubElement(element, change).text = writer.iri(disposition, DISPOSITIONS)


def _ilmd(writer: Writer, parent: etree._Element, value: object, name: str) -> None:
    writer.extensions(etree.SubElement(parent, name), value, (), f"{writer.where}.{name}")


def _declaration(writer: Writer, parent: etree._Element, value: object, name: str) -> None:
    element = etree.SubElement(parent, name)
    if value.get("declarationTime") is not None:
        etree.SubElement(element, "declarationTime").text = text_of(value["declarationTime"])
    if value.get("reason") is not None:
        etree.SubElement(element, "reason").text = writer.iri(value["reason"], ERROR_REASONS)
    if value.get("correctiveEventIDs") is not None:
        listed = etree.SubElement(element, "correctiveEventIDs")
        for event_id in _list(value["correctiveEventIDs"]):
            etree.SubElement(listed, "correctiveEventID").text = writer.iri(event_id)
    writer.extensions(element, value, ("declarationTime", "reason", "correctiveEventIDs"), f"{writer.where}.{name}")


def _list(value: object) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


FIELDS: Mapping[str, Field] = {
    **{name: _simple() for name in ("eventTime", "recordTime", "eventTimeZoneOffset", "action")},
    **{name: _simple(iri=True) for name in ("eventID", "certificationInfo", "parentID", "transformationID")},
    "errorDeclaration": _declaration,
    **{name: _epcs for name in ("epcList", "childEPCs", "inputEPCList", "outputEPCList")},
    **{name: _quantities for name in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")},
    "bizStep": _simple(BIZ_STEPS),
    "disposition": _simple(DISPOSITIONS),
    "readPoint": _place,
    "bizLocation": _place,
    "bizTransactionList": _typed("bizTransaction", BIZ_TRANSACTION_TYPES),
    "sourceList": _typed("source", SOURCE_DESTINATION_TYPES),
    "destinationList": _typed("destination", SOURCE_DESTINATION_TYPES),
    "sensorElementList": _sensors,
    "persistentDisposition": _persistent,
    "ilmd": _ilmd,
}


def write_event(parent: etree._Element, event: Mapping[str, object], *, namespaces: Namespaces, where: str,
                declared: dict[str, set[str]]) -> etree._Element:
    """Append ``event`` (its ``type`` one of the five EPCIS 2.0 event types) to ``parent``, the
    ``EventList``; ``where`` names the event in errors (e.g. ``eventList[3]``); the prefixes its
    extensions use are added to ``declared`` (prefix: namespaces)."""
    event_type = event.get("type")
    order = EVENT_SEQUENCE.get(event_type)  # type: ignore[arg-type]
    if order is None:
        raise NotAcceptable(f"{where}.type: {event_type!r} is not an EPCIS 2.0 event type", field=f"{where}.type")
    writer = Writer(namespaces, where=where, declared=declared)
    element = etree.SubElement(parent, event_type)
    for name in order:
        value = event.get(name)
        if value is not None:
            FIELDS[name](writer, element, value, name)
    writer.extensions(element, event, (*order, "type"), where)
    return element
