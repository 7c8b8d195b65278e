"""One XML parser for every untrusted EPCIS document: libxml2 (lxml) with nothing resolved, loaded or
fetched, and bounds on what a document may make it build.

What a hostile document could try, and what stops it:

- entity expansion ("billion laughs"), external entities (``file://``, ``http://``), external or
  internal DTDs: no document type declaration may declare anything. A bare ``<!DOCTYPE name>``
  (found in GS1's own examples) declares nothing and is let through; one with an internal subset
  or a SYSTEM/PUBLIC identifier is refused before parsing, and the parser never resolves entities,
  loads a DTD or touches the network anyway (defence in depth: libxml2 also caps amplification);
- deep nesting, huge text or attribute values, very many elements: bounded by :data:`MAX_DEPTH`,
  :data:`MAX_VALUE_CHARS` and :data:`MAX_ELEMENTS`. The element count is bounded before parsing
  (an element needs a ``<``), so a document cannot make the parser build millions of nodes; libxml2
  without ``huge_tree`` refuses depth beyond 256 and values beyond 10 MB while parsing, and the
  tighter bounds are checked on the tree in C (XPath), not node by node in Python.

Only ASCII-compatible encodings are read (UTF-8 in practice), so that the byte checks above see what
the parser sees; UTF-16 and UTF-32 documents are refused.
"""

import re

from lxml import etree

from service.errors import ErrorItem, InvalidRecord

MAX_DEPTH = 64
MAX_ELEMENTS = 1_000_000
MAX_VALUE_CHARS = 1 << 20
_DOCTYPE = re.compile(rb"<!DOCTYPE")
_BARE_DOCTYPE = re.compile(rb"<!DOCTYPE\s+[^\s\[>]+\s*>")
_WIDE_ENCODINGS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00", b"\x3c\x00", b"\x00\x3c")
_DEEPER = "boolean(/" + "/".join(["*"] * (MAX_DEPTH + 1)) + ")"
_LONG_VALUE = f"boolean(//@*[string-length(.) > {MAX_VALUE_CHARS}] | //text()[string-length(.) > {MAX_VALUE_CHARS}])"


class XmlInvalid(InvalidRecord):
    """An XML document refused: not well-formed, hostile, beyond the bounds, or breaking the EPCIS XSD.
    ``errors`` name the event (``index``, its position in the document's event list) where one is
    at fault, and the element (``field``, an XPath)."""


def _parser() -> etree.XMLParser:
    # a parser object is not thread-safe: one per document (creating one costs microseconds)
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True, remove_blank_text=True,
                           collect_ids=False)


def parse_xml(raw: bytes) -> etree._Element:
    """The document's root element, or :class:`XmlInvalid` naming what was refused."""
    _check_bytes(raw)
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as error:
        line = getattr(error, "lineno", None)
        raise _refused(f"not well-formed XML (line {line}): {error.msg}") from None
    _check_tree(root)
    return root


def is_xml(raw: bytes) -> bool:
    """Whether a file is XML rather than JSON (a JSON text never starts with ``<``): ``traceanchor
    hash`` reads either, where HTTP requests say which by their media type."""
    start = raw[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith(b"<")


def _check_bytes(raw: bytes) -> None:
    if raw[:2] in _WIDE_ENCODINGS:
        raise _refused("only ASCII-compatible encodings (UTF-8) are read; this document is UTF-16 or UTF-32")
    if raw.count(b"<") > MAX_ELEMENTS:
        raise _refused(f"more than {MAX_ELEMENTS} elements")
    for found in _DOCTYPE.finditer(raw):
        if not _BARE_DOCTYPE.match(raw, found.start()):
            raise _refused("a document type declaration may not declare entities, elements or an external DTD "
                           "(only a bare <!DOCTYPE name> is read)", field="DOCTYPE")


def _check_tree(root: etree._Element) -> None:
    docinfo = root.getroottree().docinfo
    dtd = docinfo.internalDTD
    if docinfo.system_url or docinfo.public_id or (dtd is not None and (list(dtd.iterentities()) or list(dtd.elements()))):
        raise _refused("a document type declaration may not declare anything", field="DOCTYPE")
    if root.xpath(_DEEPER):
        raise _refused(f"elements nested deeper than {MAX_DEPTH} levels")
    if root.xpath(_LONG_VALUE):
        raise _refused(f"a text or attribute value longer than {MAX_VALUE_CHARS} characters")


def _refused(message: str, *, field: str = "$") -> XmlInvalid:
    return XmlInvalid.of([ErrorItem(field=field, message=message)])
