"""Writing JSON-LD values as XML: names from the event's ``@context`` namespaces, CBV terms in their
one XML spelling, scalars as XSD text, extension values as elements (or attributes where the XSD
has only attributes), with the JSON path of what is written for a 406 naming what XML cannot hold."""

from collections.abc import Mapping
from decimal import Decimal

from lxml import etree

from service.errors import NotAcceptable
from service.hashing.vocabulary import (
    BIZ_STEPS,
    BIZ_TRANSACTION_TYPES,
    DISPOSITIONS,
    ERROR_REASONS,
    SOURCE_DESTINATION_TYPES,
    expand_curie,
)
from service.ingest.xml.names import TEXT_KEY

Namespaces = Mapping[str, str]
RDFS = "http://www.w3.org/2000/01/rdf-schema#"

_URNS = {  # CBV 2.0 term lists whose terms have an EPCIS 1.x URN
    id(BIZ_STEPS): "urn:epcglobal:cbv:bizstep:", id(DISPOSITIONS): "urn:epcglobal:cbv:disp:",
    id(BIZ_TRANSACTION_TYPES): "urn:epcglobal:cbv:btt:", id(SOURCE_DESTINATION_TYPES): "urn:epcglobal:cbv:sdt:",
    id(ERROR_REASONS): "urn:epcglobal:cbv:er:",
}
_TERM_OF_URI = {id(terms): {uri: term for term, uri in terms.items()} for terms in (
    BIZ_STEPS, DISPOSITIONS, BIZ_TRANSACTION_TYPES, SOURCE_DESTINATION_TYPES, ERROR_REASONS)}
_COMMENT = "comment"
"""The member holding the text of an extension element that also has attributes
(``{"measurementUnitCode": "KGM", "": 3.5}``), as the capture side maps such XML elements."""


class Writer:
    """Writes one event: holds its namespaces and the field path of what it is writing, for errors."""

    def __init__(self, namespaces: Namespaces, *, where: str, declared: dict[str, set[str]]) -> None:
        self.namespaces = namespaces
        self.where = where
        self.declared = declared

    # ---- values -----------------------------------------------------------------------------

    def iri(self, value: object, terms: Mapping[str, str] | None = None) -> str:
        """An IRI-typed value: a CBV term (short, CURIE or web URI) as its URN where it has one, else
        its web URI; any other CURIE expanded. One spelling per term, whichever the JSON used."""
        text = expand_curie(text_of(value), self.namespaces, gs1_only=False)
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
            child.text = text_of(value[TEXT_KEY])
            return
        child = self.element(parent, key, field)
        if isinstance(value, dict):
            self.extensions(child, value, (), field)
        else:
            child.text = text_of(value)

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
            attributes[name] = self.iri(value, terms.get(key)) if key in terms or key in iris else text_of(value)
        return attributes, declared


def text_of(value: object) -> str:
    """A JSON scalar as XML text: booleans as ``true``/``false``, numbers as plain decimals."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e16 else str(int(value))
    return str(value)


def decimal_of(value: object) -> str:
    """An ``xsd:decimal`` (a quantity): never an exponent."""
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    return text_of(value)
