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
from decimal import Decimal

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
    expand_curie,
)

Namespaces = Mapping[str, str]
RDFS = "http://www.w3.org/2000/01/rdf-schema#"

_BASE = ("eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "errorDeclaration", "certificationInfo")
_PLACE_AND_WHY = ("bizStep", "disposition", "readPoint", "bizLocation")
_LATER = ("sourceList", "destinationList", "sensorElementList", "persistentDisposition")
ORDER: Mapping[str, tuple[str, ...]] = {
    "ObjectEvent": (*_BASE, "epcList", "action", *_PLACE_AND_WHY, "bizTransactionList", "quantityList", *_LATER, "ilmd"),
    "AggregationEvent": (*_BASE, "parentID", "childEPCs", "action", *_PLACE_AND_WHY, "bizTransactionList",
                         "childQuantityList", *_LATER),
    "TransactionEvent": (*_BASE, "bizTransactionList", "parentID", "epcList", "action", *_PLACE_AND_WHY,
                         "quantityList", *_LATER),
    "TransformationEvent": (*_BASE, "inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList",
                            "transformationID", *_PLACE_AND_WHY, "bizTransactionList", *_LATER, "ilmd"),
    "AssociationEvent": (*_BASE, "parentID", "childEPCs", "childQuantityList", "action", *_PLACE_AND_WHY,
                         "bizTransactionList", *_LATER),
}
"""Each event type's children in the order of its XSD complex type (``EPCISEventType`` first)."""

_URNS = {  # CBV 2.0 term lists whose terms have an EPCIS 1.x URN
    id(BIZ_STEPS): "urn:epcglobal:cbv:bizstep:", id(DISPOSITIONS): "urn:epcglobal:cbv:disp:",
    id(BIZ_TRANSACTION_TYPES): "urn:epcglobal:cbv:btt:", id(SOURCE_DESTINATION_TYPES): "urn:epcglobal:cbv:sdt:",
    id(ERROR_REASONS): "urn:epcglobal:cbv:er:",
}
_TERM_OF_URI = {id(terms): {uri: term for term, uri in terms.items()} for terms in (
    BIZ_STEPS, DISPOSITIONS, BIZ_TRANSACTION_TYPES, SOURCE_DESTINATION_TYPES, ERROR_REASONS)}
_SENSOR_METADATA_IRIS = ("deviceID", "deviceMetadata", "rawData", "bizRules", "dataProcessingMethod")
_SENSOR_REPORT_TERMS = {"type": MEASUREMENT_TYPES, "component": SENSOR_COMPONENTS, "exception": SENSOR_EXCEPTIONS}
_SENSOR_REPORT_IRIS = ("deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "microorganism",
                       "chemicalSubstance", "uriValue", "coordinateReferenceSystem")
_COMMENT = "comment"
TEXT_KEY = ""
"""The member holding the text of an extension element that also has attributes
(``{"measurementUnitCode": "KGM", "": 3.5}``), as the capture side maps such XML elements."""


class _Writer:
    """Writes one event: holds its namespaces and the field path of what it is writing, for errors."""

    def __init__(self, namespaces: Namespaces, *, where: str, declared: dict[str, set[str]]) -> None:
        self.namespaces = namespaces
        self.where = where
        self.declared = declared

    # ---- values -----------------------------------------------------------------------------

    def iri(self, value: object, terms: Mapping[str, str] | None = None) -> str:
        """An IRI-typed value: a CBV term (short, CURIE or web URI) as its URN where it has one, else
        its web URI; any other CURIE expanded. One spelling per term, whichever the JSON used."""
        text = expand_curie(_text(value), self.namespaces, gs1_only=False)
        if terms is None:
            return text
        term = text if text in terms else _TERM_OF_URI.get(id(terms), {}).get(text)
        if term is None:
            return text
        prefix = _URNS.get(id(terms))
        return prefix + term if prefix else terms[term]

    def name(self, key: str, field: str) -> tuple[str, dict[str, str]]:
        """The XML name (Clark notation) of an extension key and the prefix it declares."""
        if key == _COMMENT:
            self.declared.setdefault("rdfs", set()).add(RDFS)
            return f"{{{RDFS}}}comment", {"rdfs": RDFS}
        prefix, colon, local = key.partition(":")
        if not colon:
            return key, {}
        namespace = self.namespaces.get(prefix)
        if namespace is not None and not local.startswith("//"):
            self.declared.setdefault(prefix, set()).add(namespace)
            return f"{{{namespace}}}{local}", {prefix: namespace}
        cut = max(key.rfind("/"), key.rfind("#"))
        if "://" in key and 0 < cut < len(key) - 1:  # a full IRI as the key: its namespace and local name
            return f"{{{key[:cut + 1]}}}{key[cut + 1:]}", {}
        raise NotAcceptable(f"{field}: the prefix {prefix!r} has no namespace in the event's @context, "
                            "so it cannot be written as XML", field=field)

    # ---- elements ---------------------------------------------------------------------------

    def element(self, parent: etree._Element, key: str, field: str, *,
                declared: Mapping[str, str] | None = None) -> etree._Element:
        tag, own = self.name(key, field)
        try:
            return etree.SubElement(parent, tag, nsmap={**own, **(declared or {})} or None)
        except ValueError:
            raise NotAcceptable(f"{field}: {key!r} is not an XML name", field=field) from None

    def extensions(self, parent: etree._Element, node: Mapping[str, object], known: tuple[str, ...], field: str) -> None:
        """Every member of ``node`` that is not a standard child, as extension elements."""
        for key, value in node.items():
            if key not in known and key[:1] != "@":
                self.extension(parent, key, value, f"{field}.{key}")

    def extension(self, parent: etree._Element, key: str, value: object, field: str) -> None:
        """A JSON value under ``key``: a list repeats the element, an object nests, null is left out;
        an object with the text member ``""`` is an element with attributes and text."""
        if isinstance(value, list):
            for item in value:
                self.extension(parent, key, item, field)
            return
        if value is None:
            return
        if isinstance(value, dict) and TEXT_KEY in value:
            attributes, declared = self.attributes(value, field, iris=(), terms={})
            child = self.element(parent, key, field, declared=declared)
            for name, text in attributes.items():
                child.set(name, text)
            child.text = _text(value[TEXT_KEY])
            return
        child = self.element(parent, key, field)
        if isinstance(value, dict):
            self.extensions(child, value, (), field)
        else:
            child.text = _text(value)

    def attributed(self, parent: etree._Element, tag: str, node: Mapping[str, object], field: str, *,
                   iris: tuple[str, ...], terms: Mapping[str, Mapping[str, str]]) -> None:
        """sensorMetadata and sensorReport: every member an attribute, extensions in their namespace."""
        attributes, declared = self.attributes(node, field, iris=iris, terms=terms)
        element = etree.SubElement(parent, tag, nsmap=declared or None)
        for name, text in attributes.items():
            element.set(name, text)

    def attributes(self, node: Mapping[str, object], field: str, *, iris: tuple[str, ...],
                   terms: Mapping[str, Mapping[str, str]]) -> tuple[dict[str, str], dict[str, str]]:
        """The members of ``node`` (besides the text member) as attributes, and the prefixes they declare."""
        attributes, declared = {}, {}
        for key, value in node.items():
            if key[:1] == "@" or key == TEXT_KEY or value is None:
                continue
            if isinstance(value, (dict, list)):
                raise NotAcceptable(f"{field}.{key}: XML holds only a single value here (an attribute)",
                                    field=f"{field}.{key}")
            name, prefixes = self.name(key, f"{field}.{key}") if ":" in key else (key, {})
            declared.update(prefixes)
            attributes[name] = self.iri(value, terms.get(key)) if key in terms or key in iris else _text(value)
        return attributes, declared


def _text(value: object) -> str:
    """A JSON scalar as XML text: booleans as ``true``/``false``, numbers as plain decimals."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e16 else str(int(value))
    return str(value)


def _decimal(value: object) -> str:
    """An ``xsd:decimal`` (a quantity): never an exponent."""
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    return _text(value)


# ---- the event's children, one writer per standard field --------------------------------------

Field = Callable[[_Writer, etree._Element, object, str], None]


def _simple(terms: Mapping[str, str] | None = None, *, iri: bool = False) -> Field:
    def write(writer: _Writer, parent: etree._Element, value: object, name: str) -> None:
        element = etree.SubElement(parent, name)
        element.text = writer.iri(value, terms) if iri or terms is not None else _text(value)
    return write


def _epcs(writer: _Writer, parent: etree._Element, value: object, name: str) -> None:
    listed = etree.SubElement(parent, name)
    for epc in _list(value):
        etree.SubElement(listed, "epc").text = writer.iri(epc)


def _quantities(writer: _Writer, parent: etree._Element, value: object, name: str) -> None:
    listed = etree.SubElement(parent, name)
    for item in _list(value):
        element = etree.SubElement(listed, "quantityElement")
        etree.SubElement(element, "epcClass").text = writer.iri(item.get("epcClass"))
        if item.get("quantity") is not None:
            etree.SubElement(element, "quantity").text = _decimal(item["quantity"])
            if item.get("uom") is not None:
                etree.SubElement(element, "uom").text = _text(item["uom"])


def _place(writer: _Writer, parent: etree._Element, value: object, name: str) -> None:
    element = etree.SubElement(parent, name)
    etree.SubElement(element, "id").text = writer.iri(value.get("id"))
    writer.extensions(element, value, ("id",), f"{writer.where}.{name}")


def _typed(item_name: str, terms: Mapping[str, str]) -> Field:
    """bizTransactionList, sourceList, destinationList: the reference as text, its type as attribute."""
    def write(writer: _Writer, parent: etree._Element, value: object, name: str) -> None:
        listed = etree.SubElement(parent, name)
        for item in _list(value):
            element = etree.SubElement(listed, item_name)
            if item.get("type") is not None:
                element.set("type", writer.iri(item["type"], terms))
            element.text = writer.iri(item.get(item_name))
    return write


def _sensors(writer: _Writer, parent: etree._Element, value: object, name: str) -> None:
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


def _persistent(writer: _Writer, parent: etree._Element, value: object, name: str) -> None:
    element = etree.SubElement(parent, name)
    for change in ("unset", "set"):  # the XSD's order
        for disposition in _list(value.get(change)):
            etree.SubElement(element, change).text = writer.iri(disposition, DISPOSITIONS)


def _ilmd(writer: _Writer, parent: etree._Element, value: object, name: str) -> None:
    writer.extensions(etree.SubElement(parent, name), value, (), f"{writer.where}.{name}")


def _declaration(writer: _Writer, parent: etree._Element, value: object, name: str) -> None:
    element = etree.SubElement(parent, name)
    if value.get("declarationTime") is not None:
        etree.SubElement(element, "declarationTime").text = _text(value["declarationTime"])
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
    order = ORDER.get(event_type)  # type: ignore[arg-type]
    if order is None:
        raise NotAcceptable(f"{where}.type: {event_type!r} is not an EPCIS 2.0 event type", field=f"{where}.type")
    writer = _Writer(namespaces, where=where, declared=declared)
    element = etree.SubElement(parent, event_type)
    for name in order:
        value = event.get(name)
        if value is not None:
            FIELDS[name](writer, element, value, name)
    writer.extensions(element, event, (*order, "type"), where)
    return element
