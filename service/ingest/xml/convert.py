"""EPCIS XML documents to the EPCIS 2.0 JSON-LD document the ledger captures, losslessly.

The order of work: parse (hardened, ``parser``), upgrade 1.x to 2.0 (``upgrade``), validate against
the 2.0 XSDs (``schema``), then map each event to its JSON-LD form with the tables of ``names``. The
JSON document that comes out is captured as a JSON submission would be (the JSON rules, our limits
on identifiers, hashing; the XSDs stand in for the JSON Schema, which refuses the CBV URNs that XML
allows), so an event sent as XML and the same event sent as JSON-LD are one record with one Event
Hash ID.

The mapping follows GS1's: standard fields by name (lists lose their item element, ``<epc>``,
``<quantityElement>``...), EPCs and vocabulary values exactly as given (URN or Web URI, short or
long), numbers and booleans typed as the XSD types them (quantities, sensor values) or as
``xsi:type`` says for a user extension; user extension elements and attributes become
``prefix:local`` keys with their namespaces bound in the document's ``@context`` (the prefix the XML
used, unless it is taken by another namespace), nested elements become objects and repeated ones
arrays. The ``extension``/``baseExtension`` wrappers are unfolded into their parent, as the CBV event
hash and GS1's mapping both do. The EPCIS header (SBDH, master data) is not part of any event and is
kept only in the stored source document.
"""

import re

from lxml import etree

from service.errors import ErrorItem
from service.ingest.validation.epcis import TooManyEvents
from service.ingest.xml import names
from service.ingest.xml.parser import XmlInvalid, parse_xml
from service.ingest.xml.schema import validate_xml
from service.ingest.xml.upgrade import is_legacy, upgrade

_INTEGER = re.compile(r"[+-]?\d+\Z")
_XML_NS = "http://www.w3.org/XML/1998/namespace"


def xml_document(raw: bytes, *, max_events: int) -> dict:
    """The EPCIS 2.0 JSON-LD document of an XML EPCISDocument or EPCISQueryDocument (2.0 or 1.x);
    :class:`XmlInvalid` if it is not one, ``TooManyEvents`` above ``max_events`` events."""
    root = parse_xml(raw)
    event_lists = _event_lists(root)
    if is_legacy(root):
        upgrade(root, event_lists)
    events = [event for event_list in event_lists for event in _unfolded(event_list)]
    if len(events) > max_events:
        raise TooManyEvents(f"{len(events)} events in one document; at most {max_events} are accepted", field="EventList")
    validate_xml(root, events)
    return _Converter(raw).document(root, events)


def _event_lists(root: etree._Element) -> list[etree._Element]:
    """The ``EventList`` elements of a document or query document (none if it has none)."""
    body = root.find("EPCISBody")
    if body is None:
        return []
    lists = body.findall("EventList")
    for results in body:
        if etree.QName(results).localname == "QueryResults":
            lists.extend(results.findall("resultsBody/EventList"))
    return lists


def _unfolded(parent: etree._Element):
    """``parent``'s child elements, with the children of ``extension``/``baseExtension`` wrappers in
    their place."""
    for child in parent:
        if not isinstance(child.tag, str):
            continue
        if child.tag in names.WRAPPERS:
            yield from _unfolded(child)
        else:
            yield child


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()


def _number(text: str) -> int | float:
    """A decimal or double as JSON has it: integers stay integers (``200``), others are doubles."""
    text = text.strip()
    if _INTEGER.match(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        raise XmlInvalid.of([ErrorItem(field="$", message=f"{text[:40]!r} is not a number")]) from None


def _boolean(text: str) -> bool:
    return text.strip() in ("true", "1")


class _Converter:
    """One document's conversion: the namespace prefixes its extensions use, for its ``@context``."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.prefix_of: dict[str, str] = {}
        self.uri_of: dict[str, str] = {}

    def document(self, root: etree._Element, events: list[etree._Element]) -> dict:
        converted = [self.event(event) for event in events]
        kind = etree.QName(root).localname
        body: dict = {"eventList": converted}
        if kind == names.QUERY_DOCUMENT:  # the XSD requires QueryResults and its queryName
            results = next(child for child in root.iterfind("EPCISBody/*") if etree.QName(child).localname == "QueryResults")
            query = {name: _text(found) for name in ("queryName", "subscriptionID") if (found := results.find(name)) is not None}
            body = {"queryResults": {**query, "resultsBody": {"eventList": converted}}}
        context: list = [names.EPCIS_CONTEXT]
        if self.uri_of:
            context.append(dict(self.uri_of))
        document = {"@context": context, "type": kind, "schemaVersion": "2.0"}
        if root.get("creationDate") is not None:
            document["creationDate"] = root.get("creationDate")
        document["epcisBody"] = body
        return document

    def event(self, element: etree._Element) -> dict:
        qname = etree.QName(element)
        event: dict = {"type": qname.localname if qname.namespace is None else self.key(element.tag, element)}
        self.attributes(element, event)
        for child in _unfolded(element):
            name = child.tag
            if name in names.EPC_LISTS:
                event[name] = [_text(epc) for epc in child if epc.tag == names.EPC]
            elif name in names.QUANTITY_LISTS:
                event[name] = [self.quantity(item) for item in child if item.tag == names.QUANTITY_ELEMENT]
            elif name in names.TYPED_LISTS:
                event[name] = [self.typed(item, names.TYPED_LISTS[name]) for item in child if item.tag == names.TYPED_LISTS[name]]
            elif name in names.LOCATIONS:
                event[name] = self.location(child)
            elif name == names.PERSISTENT_DISPOSITION_FIELD:
                event[name] = self.persistent_disposition(child)
            elif name == names.ERROR_DECLARATION:
                event[name] = self.error_declaration(child)
            elif name == names.SENSOR_ELEMENT_LIST:
                event[name] = [self.sensor_element(item) for item in _unfolded(child) if item.tag == names.SENSOR_ELEMENT]
            elif name == names.ILMD:
                event[name] = self.members(child)
            else:
                self.put(event, child)
        return event

    def put(self, holder: dict, element: etree._Element) -> None:
        """A user extension (or a standard field of plain text) into ``holder``; repeated ones become an array."""
        key = element.tag if etree.QName(element).namespace is None else self.key(element.tag, element)
        value = self.value(element)
        if key in holder:
            previous = holder[key]
            holder[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            holder[key] = value

    def value(self, element: etree._Element) -> object:
        """An element's JSON value: an object of its children and attributes, else its (typed) text."""
        members: dict = {}
        if element.attrib:
            self.attributes(element, members, unqualified=True)
        if len(element):  # child elements (comments and processing instructions are dropped by the parser)
            for child in _unfolded(element):
                self.put(members, child)
            return members
        if element.get(names.XSI_NIL) in ("true", "1"):
            return None
        text = _text(element)
        typed = self.typed_text(element, text)
        if members:
            if text:
                members[names.TEXT_KEY] = typed
            return members
        return typed

    def typed_text(self, element: etree._Element, text: str) -> object:
        declared = element.get(names.XSI_TYPE)
        if not declared:
            return text
        local = declared.rsplit(":", 1)[-1]
        if local in names.XSD_INTEGERS and _INTEGER.match(text):
            return int(text)
        if local in names.XSD_NUMBERS:
            return _number(text)
        if local == names.XSD_BOOLEAN and text in ("true", "false", "1", "0"):
            return _boolean(text)
        return text

    def members(self, element: etree._Element) -> dict:
        """An object of extension children (ilmd, and what follows a standard structure's fields)."""
        members: dict = {}
        self.attributes(element, members, unqualified=True)
        for child in _unfolded(element):
            self.put(members, child)
        return members

    def attributes(self, element: etree._Element, holder: dict, *, unqualified: bool = False) -> None:
        """User attributes as ``prefix:local`` (``xsi:`` and ``xml:`` ones are markup, not data); those
        without a namespace too where ``unqualified`` (on user extension elements, where every
        attribute is the user's; on standard elements those are the standard's own)."""
        for name, value in element.attrib.items():
            namespace = etree.QName(name).namespace
            if namespace is None:
                if unqualified:
                    holder[name] = value
            elif namespace not in (names.XSI, _XML_NS):
                holder[self.key(name, element)] = value

    def key(self, qualified: str, element: etree._Element) -> str:
        """``{uri}local`` as ``prefix:local``, with ``prefix`` bound to ``uri`` for the whole document."""
        qname = etree.QName(qualified)
        uri = qname.namespace
        prefix = self.prefix_of.get(uri)
        if prefix is None:
            wanted = next((p for p, u in element.nsmap.items() if u == uri and p), None) or "ns"
            prefix, number = wanted, 0
            while prefix in self.uri_of or prefix in _RESERVED_PREFIXES or self.is_value_scheme(prefix):
                number += 1
                prefix = f"{wanted}{number}"
            self.prefix_of[uri], self.uri_of[prefix] = prefix, uri
        return f"{prefix}:{qname.localname}"

    def is_value_scheme(self, prefix: str) -> bool:
        """Whether some value of the document starts with ``prefix:`` (``component="example:x"``).

        XML values are never CURIEs: ``example:x`` is a URI of the scheme ``example`` even where
        ``xmlns:example`` is declared. Bound in the ``@context``, the prefix would make JSON-LD read
        the value as a CURIE and expand it, so such a namespace gets another prefix."""
        return re.search(rb"(?:=\s*['\"]|>\s*)" + re.escape(prefix.encode()) + rb":", self.raw) is not None

    def quantity(self, element: etree._Element) -> dict:
        item: dict = {}
        for child in element:
            if child.tag == "quantity":
                if child.get(names.XSI_NIL) not in ("true", "1"):
                    item["quantity"] = _number(_text(child))
            elif child.tag in names.QUANTITY_FIELDS:
                item[child.tag] = _text(child)
        return item

    def typed(self, element: etree._Element, field: str) -> dict:
        item: dict = {}
        if element.get("type") is not None:
            item["type"] = element.get("type").strip()
        item[field] = _text(element)
        self.attributes(element, item)
        return item

    def location(self, element: etree._Element) -> dict:
        location: dict = {}
        for child in _unfolded(element):
            if child.tag == "id":
                location["id"] = _text(child)
            else:
                self.put(location, child)
        return location

    def persistent_disposition(self, element: etree._Element) -> dict:
        found: dict = {}
        for name in names.PERSISTENT_DISPOSITION:
            values = [_text(child) for child in element if child.tag == name]
            if values:
                found[name] = values
        return found

    def error_declaration(self, element: etree._Element) -> dict:
        declaration: dict = {}
        self.attributes(element, declaration)
        list_name, item_name = names.CORRECTIVE_EVENT_IDS
        for child in _unfolded(element):
            if child.tag == list_name:
                declaration[list_name] = [_text(item) for item in child if item.tag == item_name]
            elif child.tag in names.ERROR_DECLARATION_FIELDS:
                declaration[child.tag] = _text(child)
            else:
                self.put(declaration, child)
        return declaration

    def sensor_element(self, element: etree._Element) -> dict:
        sensor: dict = {}
        for child in _unfolded(element):
            if child.tag == names.SENSOR_METADATA:
                sensor[names.SENSOR_METADATA] = self.sensor_attributes(child)
            elif child.tag == names.SENSOR_REPORT:
                sensor.setdefault(names.SENSOR_REPORT, []).append(self.sensor_attributes(child))
            else:
                self.put(sensor, child)
        return sensor

    def sensor_attributes(self, element: etree._Element) -> dict:
        found: dict = {}
        for name, value in element.attrib.items():
            if name in names.SENSOR_DOUBLES:
                found[name] = _number(value)
            elif name in names.SENSOR_BOOLEANS:
                found[name] = _boolean(value)
            elif etree.QName(name).namespace is None:
                found[name] = value
        self.attributes(element, found)
        return found


#: Prefixes the standard context defines (or JSON-LD reserves): a user namespace never takes them,
#: so that ``gs1:Temperature`` or ``cbv:...`` keep their standard meaning.
_RESERVED_PREFIXES = frozenset({"gs1", "cbv", "cbvmda", "epcis", "rdfs", "rdf", "owl", "xsd", "dcterms", "schema", "ns"})
