"""Validating EPCIS 2.0 XML documents against GS1's official XSDs (bundled in ``xsd/``, see its README).

libxml2's validator (lxml) is used: it runs in C on the tree the parser already built, where the
pure-Python ``xmlschema`` would walk every node in Python again; capture throughput of XML has to
stay near JSON's (validation takes milliseconds, so the threads of a process take turns at it: a
compiled schema keeps the error log of its last run). Each schema is compiled once per process, from the files on disk only: the
parser that reads the XSDs resolves ``schemaLocation`` from the bundle and never the network.

Every error found (up to ``MAX_REPORTED_ERRORS``) is reported, each naming the event's position in
the document's event list (``index``) and the element at fault (``field``, libxml2's XPath to it).
"""

import threading
from bisect import bisect_right
from functools import cache
from importlib.resources import as_file, files

from lxml import etree

from service.errors import ErrorItem
from service.ingest.xml.names import DOCUMENT, EPCIS_2, EPCIS_QUERY_2, QUERY_DOCUMENT
from service.ingest.xml.parser import XmlInvalid

MAX_REPORTED_ERRORS = 20
_VALIDATING = threading.Lock()
_ROOTS = {f"{{{EPCIS_2}}}{DOCUMENT}": "EPCglobal-epcis-2_0.xsd", f"{{{EPCIS_QUERY_2}}}{QUERY_DOCUMENT}": "EPCglobal-epcis-query-2_0.xsd"}


def validate_xml(root: etree._Element, events: list[etree._Element]) -> None:
    """Accept a 2.0 EPCISDocument or EPCISQueryDocument (``events``: its event elements in document
    order), or raise :class:`XmlInvalid` listing every violation."""
    schema_file = _ROOTS.get(root.tag)
    if schema_file is None:
        expected = " or ".join(f"{{{ns}}}{name}" for ns, name in ((EPCIS_2, DOCUMENT), (EPCIS_QUERY_2, QUERY_DOCUMENT)))
        raise XmlInvalid.of([ErrorItem(field=f"/{root.tag}", message=f"the root element is {root.tag}; expected {expected}")])
    schema = _schema(schema_file)
    with _VALIDATING:  # a schema keeps the error log of its last validation: one at a time per process
        if schema.validate(root.getroottree()):
            return
        log = list(schema.error_log)
    errors = []
    positions = {event: index for index, event in enumerate(events)}
    for entry in log:
        index = _event_index(root, entry, positions)
        where = f"event {index}" if index is not None else "document"
        errors.append(ErrorItem(field=entry.path or "$", message=f"{where} (line {entry.line}): {entry.message}", index=index))
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    raise XmlInvalid.of(errors)


def _event_index(root: etree._Element, entry: etree._LogEntry, positions: dict[etree._Element, int]) -> int | None:
    """The position of the event an error is in: found by the error's XPath (a document on one line
    has every event on line 1), else by its line."""
    try:
        found = root.getroottree().xpath(entry.path, namespaces={k: v for k, v in root.nsmap.items() if k}) if entry.path else []
    except etree.XPathError:
        found = []
    for node in found[:1]:
        for ancestor in (node, *node.iterancestors()):
            if ancestor in positions:
                return positions[ancestor]
        return None
    lines = [event.sourceline or 0 for event in positions]
    return bisect_right(lines, entry.line) - 1 if lines and entry.line >= lines[0] else None


@cache
def _schema(name: str) -> etree.XMLSchema:
    """One root XSD and what it imports, compiled (once per process)."""
    with as_file(files(__package__) / "xsd" / name) as path:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        return etree.XMLSchema(etree.parse(str(path), parser))
