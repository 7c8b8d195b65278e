"""Content negotiation of event reads: JSON (the default) or EPCIS 2.0 XML, from the ``Accept`` header.

Event reads (``/v1/events``, ``/epcis`` queries) answer either; a client that accepts neither gets
406 (an RFC 7807 problem under ``/epcis``) rather than a representation it said it cannot read.
"""

from collections.abc import Mapping

from fastapi import Request, Response

from service.errors import NotAcceptable
from service.read.xml import document_xml

XML_MEDIA_TYPES = ("application/xml", "text/xml")
XML_MEDIA_TYPE = XML_MEDIA_TYPES[0]
XML_ANSWER = {"description": "With `Accept: application/xml` (or `text/xml`): the same events as an EPCIS 2.0 XML "
                             "document, valid against the official XSDs.",
              "content": {media: {"schema": {"type": "string"}} for media in XML_MEDIA_TYPES}}


class XmlResponse(Response):
    """An EPCIS 2.0 XML document."""

    media_type = XML_MEDIA_TYPE


def wants_xml(request: Request, *, json_types: tuple[str, ...]) -> bool:
    """Whether the client's ``Accept`` prefers XML to the JSON ``json_types``: the higher quality
    wins, then the more specific match (``application/xml`` over ``*/*``); JSON on a tie or without
    ``Accept``. Raises ``NotAcceptable`` when the client accepts neither."""
    header = request.headers.get("accept")
    if not header or not header.strip():
        return False
    ranges = [_media_range(part) for part in header.split(",") if part.strip()]
    json_rank, xml_rank = _rank(ranges, json_types), _rank(ranges, XML_MEDIA_TYPES)
    if json_rank[0] <= 0 and xml_rank[0] <= 0:
        raise NotAcceptable(f"Accept: {header.strip()!r} names no representation this answers with "
                            f"({', '.join((*json_types, *XML_MEDIA_TYPES))})", field="Accept")
    return xml_rank > json_rank


def xml_response(document: Mapping[str, object], *, headers: Mapping[str, str] | None = None) -> XmlResponse:
    """``document`` (EPCIS 2.0 JSON-LD) answered as EPCIS 2.0 XML."""
    return XmlResponse(document_xml(document), headers=dict(headers or {}))


def _media_range(text: str) -> tuple[str, float]:
    media, *parameters = (piece.strip() for piece in text.split(";"))
    quality = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = min(max(float(value), 0.0), 1.0)
            except ValueError:
                quality = 0.0
    return media.lower(), quality


def _rank(ranges: list[tuple[str, float]], offered: tuple[str, ...]) -> tuple[float, int]:
    """(quality, specificity) of the most specific range matching any of ``offered``."""
    best = (0.0, -1)
    for media in offered:
        kind = media.split("/")[0]
        matches = [(specificity, quality) for pattern, quality in ranges
                   for specificity, fits in ((2, pattern == media), (1, pattern == f"{kind}/*"), (0, pattern == "*/*")) if fits]
        if matches:
            specificity, quality = max(matches)
            best = max(best, (quality, specificity))
    return best
