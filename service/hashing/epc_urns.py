"""GS1 Digital Link URIs back to EPC URNs (EPC Tag Data Standard pure identities, LGTIN classes and
the patterns ``service.hashing.identifiers`` maps to a class's Digital Link).

A Digital Link does not say where the GS1 Company Prefix ends inside its key, and the URN needs it
(``urn:epc:id:sgtin:0614141.107346.2017`` and ``...:061414.1107346.2017`` are one Digital Link), so the
prefix length is an argument: GS1's tools take it from GS1's Company Prefix length table, or from a
URN that already names the company. A URN is returned only when it maps back to the same canonical
Digital Link, so a length that does not fit the key gives None rather than a wrong URN.

Components are written in the URN's canonical spelling: characters the EPC URN takes as they are
stay raw, ``"%&/<>?`` are %-escaped, anything else has no URN (None).
"""

import string
from collections.abc import Callable
from urllib.parse import unquote

from service.hashing.identifiers import CANONICAL_DOMAIN, canonical_identifier

_RAW = frozenset(string.ascii_letters + string.digits + "!'()*+,-.:;=_")
_ESCAPED = frozenset('"%&/<>?')
_CPI_RAW = frozenset(string.ascii_uppercase + string.digits + "-")
_CPI_ESCAPED = frozenset("#/")
COMPANY_PREFIX_LENGTHS = range(6, 13)


def _component(text: str, *, raw: frozenset[str] = _RAW, escaped: frozenset[str] = _ESCAPED) -> str | None:
    """A Digital Link component (percent-encoded) in the URN's canonical spelling, or None."""
    decoded = unquote(text, errors="strict") if "%" in text else text
    if any(char not in raw and char not in escaped for char in decoded):
        return None
    return "".join(char if char in raw else f"%{ord(char):02X}" for char in decoded)


def _gtin(gtin: str, length: int) -> str:
    """``<company prefix>.<indicator><item reference>`` of a GTIN-14 (check digit dropped)."""
    return f"{gtin[1:1 + length]}.{gtin[0]}{gtin[1 + length:13]}"


def _split(key: str, length: int, end: int) -> str:
    """``<company prefix>.<reference>`` of a key's first ``end`` digits (check digit excluded)."""
    return f"{key[:length]}.{key[length:end]}"


def _serialised(urn: str, pattern: str, serial: str | None) -> str | None:
    """The instance URN with ``serial``, the pattern when there is none."""
    if not serial:
        return pattern
    encoded = _component(serial)
    return None if encoded is None else urn + encoded


_TRADE_ITEMS = {"21": "urn:epc:id:sgtin:", "10": "urn:epc:class:lgtin:", "235": "urn:epc:id:upui:"}


def _trade_item(value: str, length: int, qualifiers: dict[str, str]) -> str | None:
    """SGTIN, LGTIN or UPUI by the qualifier; the GTIN alone is the SGTIN pattern of its class."""
    base = _gtin(value, length)
    if not qualifiers:
        return f"urn:epc:idpat:sgtin:{base}.*"
    if len(qualifiers) != 1 or next(iter(qualifiers)) not in _TRADE_ITEMS:
        return None
    [(ai, text)] = qualifiers.items()
    encoded = _component(text)
    return None if encoded is None else f"{_TRADE_ITEMS[ai]}{base}.{encoded}"


def _location(value: str, length: int, qualifiers: dict[str, str]) -> str | None:
    extension = _component(qualifiers.pop("254", "0"))
    return None if qualifiers or extension is None else f"urn:epc:id:sgln:{_split(value, length, 12)}.{extension}"


def _returnable_asset(value: str, length: int, qualifiers: dict[str, str]) -> str | None:
    base = _split(value[1:], length, 12)
    return None if value[0] != "0" else _serialised(f"urn:epc:id:grai:{base}.", f"urn:epc:idpat:grai:{base}.*", value[14:])


def _component_part(value: str, length: int, qualifiers: dict[str, str]) -> str | None:
    reference = _component(value[length:], raw=_CPI_RAW, escaped=_CPI_ESCAPED)
    if reference is None:
        return None
    serial = qualifiers.pop("8011", None)
    base = f"{value[:length]}.{reference}"
    return None if qualifiers else f"urn:epc:id:cpi:{base}.{serial}" if serial else f"urn:epc:idpat:cpi:{base}.*"


def _trade_item_piece(value: str, length: int, qualifiers: dict[str, str]) -> str | None:
    base = f"{_gtin(value[:14], length)}.{value[14:16]}.{value[16:18]}"
    serial = qualifiers.pop("21", None)
    return None if qualifiers else _serialised(f"urn:epc:id:itip:{base}.", f"urn:epc:idpat:itip:{base}.*", serial)


def _alphanumeric(scheme: str) -> Callable[[str, int, dict[str, str]], str | None]:
    def build(value: str, length: int, qualifiers: dict[str, str]) -> str | None:
        reference = _component(value[length:])
        return None if qualifiers or reference is None else f"urn:epc:id:{scheme}:{value[:length]}.{reference}"

    return build


def _numeric(scheme: str, end: int) -> Callable[[str, int, dict[str, str]], str | None]:
    def build(value: str, length: int, qualifiers: dict[str, str]) -> str | None:
        return None if qualifiers else f"urn:epc:id:{scheme}:{_split(value, length, end)}"

    return build


def _with_serial(scheme: str, end: int) -> Callable[[str, int, dict[str, str]], str | None]:
    """GDTI and SGCN: the serial follows the key's check digit directly."""
    def build(value: str, length: int, qualifiers: dict[str, str]) -> str | None:
        base = _split(value, length, end)
        return None if qualifiers else _serialised(f"urn:epc:id:{scheme}:{base}.", f"urn:epc:idpat:{scheme}:{base}.*", value[end + 1:])

    return build


_BUILDERS: dict[str, Callable[[str, int, dict[str, str]], str | None]] = {
    "01": _trade_item,
    "00": lambda value, length, qualifiers: None if qualifiers else f"urn:epc:id:sscc:{value[1:1 + length]}.{value[0]}{value[1 + length:17]}",
    "414": _location,
    "8003": _returnable_asset,
    "8004": _alphanumeric("giai"),
    "8018": _numeric("gsrn", 17),
    "8017": _numeric("gsrnp", 17),
    "253": _with_serial("gdti", 12),
    "8010": _component_part,
    "255": _with_serial("sgcn", 12),
    "401": _alphanumeric("ginc"),
    "402": _numeric("gsin", 16),
    "8006": _trade_item_piece,
    "417": _numeric("pgln", 12),
}


def digital_link_to_urn(link: str, company_prefix_length: int) -> str | None:
    """The EPC URN of a GS1 Digital Link (any domain, any spelling the hashing module accepts) whose key
    starts with a GS1 Company Prefix of ``company_prefix_length`` digits; None when it has none."""
    canonical = canonical_identifier(link) if company_prefix_length in COMPANY_PREFIX_LENGTHS else None
    if canonical is None or not canonical.startswith(CANONICAL_DOMAIN + "/"):
        return None
    key, value, *rest = canonical[len(CANONICAL_DOMAIN) + 1:].split("/")
    qualifiers = dict(zip(rest[::2], rest[1::2]))
    if key not in _BUILDERS or not value[:company_prefix_length + (key in ("01", "00", "8003", "8006"))].isdigit():
        return None
    try:
        urn = _BUILDERS[key](value, company_prefix_length, qualifiers)
    except UnicodeDecodeError:  # a %-escape that is no UTF-8
        return None
    return urn if urn is not None and canonical_identifier(urn) == canonical else None
