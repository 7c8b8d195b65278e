"""GS1 identifiers to their one canonical spelling: a constrained GS1 Digital Link URI.

The CBV 2.0 Event Hash ID treats an EPC URN (``urn:epc:id:sgtin:4012345.011111.9876``), an EPC class
or pattern URN, and any GS1 Digital Link URI on any domain (``https://example.com/gtin/...``) as the
same identifier when they denote the same GS1 key. This module maps all of them to
``https://id.gs1.org/<primary AI>/<key>[/<qualifier AI>/<value>]`` holding only the finest
identification level, so that equivalent spellings hash equally.

The rules follow the reference implementation's Digital Link normaliser (RalphTro/epcis-event-hash-
generator, MIT licence); where it has evident slips, docs/event-hash.md lists what is done instead.
"""

import re
from collections.abc import Callable
from functools import lru_cache

CANONICAL_DOMAIN = "https://id.gs1.org"

# One character of an EPC URN component (GS1 TDS "GS1_AI_encodable" set, escapes counted once).
_SAFE = r"(?:%2[125-9A-Fa-f]|%3[0-9A-Fa-f]|%4[1-9A-Fa-f]|%5[0-9AaFf]|%6[1-9A-Fa-f]|%7[0-9Aa]|[!')(*+,.0-9:;=A-Za-z_-])"
_CPI_SAFE = r"(?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])"
_COMPANY_AND_REF = r"(?P<cp>\d{6,12})\.(?P<ref>\d{0,11})"

# Characters Digital Link requires to be percent-encoded that EPC URNs still allow.
_PERCENT_ENCODINGS = str.maketrans(
    {"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C", ":": "%3A"}
)


def check_digit(digits: str) -> str:
    """GS1 mod-10 check digit (GS1 General Specifications 7.9.1): weights 3,1,3... from the right."""
    total = 3 * sum(map(int, digits[::-1][::2])) + sum(map(int, digits[::-1][1::2]))
    return str(-total % 10)


def _percent_encode(component: str) -> str:
    """Serials are usually alphanumeric, which never needs encoding (and ``isalnum`` is far cheaper)."""
    return component if component.isalnum() else component.translate(_PERCENT_ENCODINGS)


def _units(component: str) -> int:
    """Length in characters, a %-escape counting as one (the unit of the TDS length limits)."""
    return len(component) - 2 * component.count("%")


@lru_cache(maxsize=4096)
def _key_with_indicator(cp: str, ref: str) -> str:
    """GTIN-14 or SSCC: the reference's first digit (indicator or extension) leads, check digit appended.

    Memoised: the serials of one product share its GTIN, so never-seen SGTINs rarely need the check digit.
    """
    body = ref[:1] + cp + ref[1:]
    return body + check_digit(body)


@lru_cache(maxsize=4096)
def _with_check(digits: str) -> str:
    return digits + check_digit(digits)


_Builder = Callable[[re.Match], str | None]


def _fixed(total: int, build: Callable[[str, str, re.Match], str]) -> _Builder:
    """Builder for schemes whose company prefix and reference have a fixed combined length."""
    return lambda m: build(m["cp"], m["ref"], m) if len(m["cp"]) + len(m["ref"]) == total else None


def _bounded(limit: int, build: Callable[[str, str], str]) -> _Builder:
    """Builder for schemes with an alphanumeric reference and a maximum combined length."""
    return lambda m: build(m["cp"], m["ref"]) if len(m["cp"]) + _units(m["ref"]) <= limit else None


def _sgln(cp: str, ref: str, m: re.Match) -> str:
    gln = _with_check(cp + ref)
    ext = m["ext"]
    return f"/414/{gln}" if ext == "0" else f"/414/{gln}/254/{_percent_encode(ext)}"


_ALNUM_REF = r"(?P<cp>\d{6,12})\.(?P<ref>"
_EPC_SCHEMES: dict[str, tuple[str, _Builder]] = {
    "urn:epc:id:sgtin:": (
        rf"{_COMPANY_AND_REF}\.(?P<ser>{_SAFE}{{1,20}})",
        _fixed(13, lambda cp, ref, m: f"/01/{_key_with_indicator(cp, ref)}/21/{_percent_encode(m['ser'])}"),
    ),
    "urn:epc:id:sscc:": (_COMPANY_AND_REF, _fixed(17, lambda cp, ref, m: f"/00/{_key_with_indicator(cp, ref)}")),
    "urn:epc:id:sgln:": (rf"{_COMPANY_AND_REF}\.(?P<ext>{_SAFE}{{1,20}})", _fixed(12, _sgln)),
    "urn:epc:id:grai:": (
        rf"{_COMPANY_AND_REF}\.(?P<ser>{_SAFE}{{1,16}})",
        _fixed(12, lambda cp, ref, m: f"/8003/{_with_check('0' + cp + ref)}{_percent_encode(m['ser'])}"),
    ),
    "urn:epc:id:giai:": (
        rf"{_ALNUM_REF}{_SAFE}{{1,24}})",
        _bounded(30, lambda cp, ref: f"/8004/{cp}{_percent_encode(ref)}"),
    ),
    "urn:epc:id:gsrn:": (_COMPANY_AND_REF, _fixed(17, lambda cp, ref, m: f"/8018/{_with_check(cp + ref)}")),
    "urn:epc:id:gsrnp:": (_COMPANY_AND_REF, _fixed(17, lambda cp, ref, m: f"/8017/{_with_check(cp + ref)}")),
    "urn:epc:id:gdti:": (
        rf"{_COMPANY_AND_REF}\.(?P<ser>{_SAFE}{{0,19}})",
        _fixed(12, lambda cp, ref, m: f"/253/{_with_check(cp + ref)}{_percent_encode(m['ser'])}"),
    ),
    "urn:epc:id:cpi:": (
        rf"{_ALNUM_REF}{_CPI_SAFE}{{1,24}})\.(?P<ser>\d{{1,12}})",
        lambda m: (f"/8010/{_percent_encode(m['cp'] + m['ref'])}/8011/{m['ser']}"
                   if len(m["cp"]) + _units(m["ref"]) <= 30 else None),
    ),
    "urn:epc:id:sgcn:": (
        rf"{_COMPANY_AND_REF}\.(?P<ser>\d{{1,12}})",
        _fixed(12, lambda cp, ref, m: f"/255/{_with_check(cp + ref)}{m['ser']}"),
    ),
    "urn:epc:id:ginc:": (
        rf"{_ALNUM_REF}{_SAFE}{{1,24}})",
        _bounded(30, lambda cp, ref: f"/401/{cp}{_percent_encode(ref)}"),
    ),
    "urn:epc:id:gsin:": (_COMPANY_AND_REF, _fixed(16, lambda cp, ref, m: f"/402/{_with_check(cp + ref)}")),
    "urn:epc:id:itip:": (
        rf"{_COMPANY_AND_REF}\.(?P<piece>\d{{2}})\.(?P<total>\d{{2}})\.(?P<ser>{_SAFE}{{1,20}})",
        _fixed(13, lambda cp, ref, m: (
            f"/8006/{_key_with_indicator(cp, ref)}{m['piece']}{m['total']}/21/{_percent_encode(m['ser'])}")),
    ),
    "urn:epc:id:upui:": (
        rf"{_COMPANY_AND_REF}\.(?P<tpx>{_SAFE}{{1,28}})",
        _fixed(13, lambda cp, ref, m: f"/01/{_key_with_indicator(cp, ref)}/235/{_percent_encode(m['tpx'])}"),
    ),
    "urn:epc:id:pgln:": (_COMPANY_AND_REF, _fixed(12, lambda cp, ref, m: f"/417/{_with_check(cp + ref)}")),
    "urn:epc:class:lgtin:": (
        rf"{_COMPANY_AND_REF}\.(?P<lot>{_SAFE}{{1,20}})",
        _fixed(13, lambda cp, ref, m: f"/01/{_key_with_indicator(cp, ref)}/10/{_percent_encode(m['lot'])}"),
    ),
    "urn:epc:idpat:sgtin:": (
        rf"{_COMPANY_AND_REF}\.\*", _fixed(13, lambda cp, ref, m: f"/01/{_key_with_indicator(cp, ref)}")
    ),
    "urn:epc:idpat:grai:": (
        rf"{_COMPANY_AND_REF}\.\*",
        _fixed(12, lambda cp, ref, m: f"/8003/{_with_check('0' + cp + ref)}"),
    ),
    "urn:epc:idpat:gdti:": (
        rf"{_COMPANY_AND_REF}\.\*", _fixed(12, lambda cp, ref, m: f"/253/{_with_check(cp + ref)}")
    ),
    "urn:epc:idpat:sgcn:": (
        rf"{_COMPANY_AND_REF}\.\*", _fixed(12, lambda cp, ref, m: f"/255/{_with_check(cp + ref)}")
    ),
    "urn:epc:idpat:cpi:": (
        rf"{_ALNUM_REF}{_CPI_SAFE}{{1,24}})\.\*",
        _bounded(30, lambda cp, ref: f"/8010/{_percent_encode(cp + ref)}"),
    ),
    "urn:epc:idpat:itip:": (
        rf"{_COMPANY_AND_REF}\.(?P<piece>\d{{2}})\.(?P<total>\d{{2}})\.\*",
        _fixed(13, lambda cp, ref, m: f"/8006/{_key_with_indicator(cp, ref)}{m['piece']}{m['total']}"),
    ),
    "urn:epc:idpat:upui:": (
        rf"{_COMPANY_AND_REF}\.\*", _fixed(13, lambda cp, ref, m: f"/01/{_key_with_indicator(cp, ref)}")
    ),
}
_EPC_PATTERNS = {prefix: (re.compile(pattern), build) for prefix, (pattern, build) in _EPC_SCHEMES.items()}


def _epc_urn_to_digital_link(urn: str) -> str | None:
    prefix = urn[: urn.index(":", urn.index(":", 8) + 1) + 1]  # "urn:epc:<kind>:<scheme>:"
    scheme = _EPC_PATTERNS.get(prefix)
    if scheme is None:
        return None
    pattern, build = scheme
    match = pattern.fullmatch(urn, len(prefix))
    if match is None:
        return None
    path = build(match)
    return None if path is None else CANONICAL_DOMAIN + path


# ---- GS1 Digital Link URIs --------------------------------------------------------------------

_SHORT_NAMES = {
    "gtin": "01", "itip": "8006", "cpid": "8010", "gln": "414", "party": "417", "gsrnp": "8017",
    "gsrn": "8018", "gcn": "255", "sscc": "00", "gdti": "253", "ginc": "401", "gsin": "402",
    "grai": "8003", "giai": "8004", "cpv": "22", "lot": "10", "ser": "21",
}
_PRIMARY_KEYS = frozenset(
    {"01", "8006", "8010", "414", "417", "8017", "8018", "255", "00", "253", "401", "402", "8003", "8004"}
)
_PRIMARY_VALUE = re.compile(r"\d{4}[^/]+")
_CPV, _LOT, _SERIAL = "22", "10", "21"

# Allowed final forms (from the reference normaliser, plus %-escapes that EPC URNs produce).
_X = r"(?:[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]|%[0-9A-Fa-f]{2})"
_CANONICAL_FORMS = re.compile(
    "|".join((
        r"/00/\d{18}",
        rf"/01/\d{{14}}(?:/21/{_X}{{0,20}}|/10/{_X}{{0,20}}|/235/{_X}{{0,28}})?",
        rf"/253/\d{{13}}{_X}{{0,17}}",
        r"/255/\d{13}\d{0,12}",
        rf"/401/{_X}{{0,30}}",
        r"/402/\d{17}",
        rf"/414/\d{{13}}(?:/254/{_X}{{0,20}})?",
        r"/417/\d{13}",
        rf"/8003/\d{{14}}{_X}{{0,16}}",
        rf"/8004/{_X}{{0,30}}",
        rf"/8006/\d{{18}}(?:/21/{_X}{{0,20}}|/10/{_X}{{0,20}})?",
        r"/8010/(?:[\x23\x2D\x2F\x30-\x39\x41-\x5A]|%[0-9A-Fa-f]{2}){0,30}(?:/8011/\d{0,12})?",
        r"/8017/\d{18}",
        r"/8018/\d{18}",
    ))
)
_DIGITAL_LINK = re.compile(r"https?://[^/?#]*(?P<path>/[^?#]*)(?:\?[^#]*)?")


def _pad_key_with_indicator(value: str) -> str:
    """GTIN-8/12/13 to GTIN-14 by left zero padding."""
    digits = len(value) - len(value.lstrip("0123456789"))
    if digits >= 14:
        return value
    for width in (13, 12, 8):
        if digits >= width:
            return "0" * (14 - width) + value
    return value


def _digital_link_to_canonical(uri: str) -> str | None:
    match = _DIGITAL_LINK.fullmatch(uri)
    if match is None:
        return None
    segments = [_SHORT_NAMES.get(s, s) for s in match["path"].split("/")[1:]]
    if segments and segments[-1] == "":
        segments.pop()
    for start in range(len(segments) - 1):
        if segments[start] in _PRIMARY_KEYS and _PRIMARY_VALUE.fullmatch(segments[start + 1]):
            break
    else:
        return None
    key, value, rest = segments[start], segments[start + 1], segments[start + 2:]
    if len(rest) % 2:
        return None
    if key == "01":
        value = _pad_key_with_indicator(value)
    qualifiers = dict(zip(rest[::2], rest[1::2]))
    qualifiers.pop(_CPV, None)
    if _SERIAL in qualifiers:
        qualifiers.pop(_LOT, None)
    path = f"/{key}/{value}" + "".join(f"/{ai}/{v}" for ai, v in qualifiers.items())
    return CANONICAL_DOMAIN + path if _CANONICAL_FORMS.fullmatch(path) else None


def canonical_identifier(value: str) -> str | None:
    """The canonical Digital Link of a GS1 identifier, or None when ``value`` is not one."""
    if value.startswith("urn:epc:"):
        return _epc_urn_to_digital_link(value) if value.count(":") >= 4 else None
    if value.startswith("http") and "#" not in value:
        return _digital_link_to_canonical(value)
    return None
