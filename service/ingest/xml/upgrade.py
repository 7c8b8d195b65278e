"""EPCIS 1.x XML documents (namespace ``urn:epcglobal:epcis:xsd:1``) upgraded to 2.0 in place, as GS1's
1.2 -> 2.0 mapping does (OpenEPCIS's ``convert-1.2-to-2.0.xsl`` is the reference read).

1.2 kept every field added after 1.0 inside ``<extension>`` (and ``<baseExtension>``) wrappers, so
that 1.0 readers could skip them: quantities, sources and destinations, ILMD, eventID and
errorDeclaration, and the TransformationEvent itself (``EventList/extension``). 2.0 has the same
fields at the event's top level, in the order its XSD fixes. Unfolding the wrappers and putting the
children in that order gives the 2.0 document, which is then validated against the 2.0 XSD like any
other. User extensions (elements of other namespaces) follow the standard fields, in their order.
"""

from lxml import etree

from service.ingest.xml.names import (
    EPCIS_1,
    EPCIS_2,
    EPCIS_QUERY_1,
    EPCIS_QUERY_2,
    EVENT_SEQUENCE,
    WRAPPERS,
)

_NAMESPACES = {EPCIS_1: EPCIS_2, EPCIS_QUERY_1: EPCIS_QUERY_2}


def is_legacy(root: etree._Element) -> bool:
    """Whether the document is EPCIS 1.x (by its root's namespace)."""
    return etree.QName(root).namespace in _NAMESPACES


def upgrade(root: etree._Element, event_lists: list[etree._Element]) -> None:
    """Turn a 1.x document (``event_lists``: its ``EventList`` elements) into the 2.0 one, in place."""
    for element in (root, *root.iterchildren()):
        qname = etree.QName(element)
        if qname.namespace in _NAMESPACES:
            element.tag = etree.QName(_NAMESPACES[qname.namespace], qname.localname).text
    for node in root.iter(f"{{{EPCIS_QUERY_1}}}*"):
        node.tag = etree.QName(EPCIS_QUERY_2, etree.QName(node).localname).text
    for event_list in event_lists:
        _unfold_all(event_list)
        for event in event_list:
            _unfold_all(event)
            sequence = EVENT_SEQUENCE.get(event.tag)
            if sequence is not None:
                _order(event, sequence)


def _unfold_all(parent: etree._Element) -> None:
    """Replace each wrapper child (``extension``, ``baseExtension``) of ``parent`` by its children,
    wrappers within wrappers included."""
    while True:
        wrappers = [child for child in parent if child.tag in WRAPPERS]
        if not wrappers:
            return
        for wrapper in wrappers:
            position = parent.index(wrapper)
            for offset, child in enumerate(list(wrapper)):
                parent.insert(position + offset, child)
            parent.remove(wrapper)


def _order(event: etree._Element, sequence: tuple[str, ...]) -> None:
    """Put the standard fields in the XSD's order, the others after them as they came."""
    rank = {name: position for position, name in enumerate(sequence)}
    children = list(event)
    children.sort(key=lambda child: rank.get(child.tag, len(sequence)) if isinstance(child.tag, str) else len(sequence))
    event[:] = children
