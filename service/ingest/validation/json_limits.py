"""The rules every JSON body is held to, in one place: every request body parser (EPCIS documents,
in the API process and in capture workers; transactions; keys; labels; scores) goes through
:func:`parse_json`, and every read that returns a stored body through :func:`stored_object`.

- Depth: at most ``MAX_DEPTH`` nested arrays and objects. CPython's JSON decoder recurses in C
  once per level: once web3's dependencies have raised the recursion limit, a few hundred
  kilobytes of ``[`` overflow the C stack and kill the process. And pydantic refuses to serialise
  values nested beyond about 250 levels, so a record stored that deep would break every read of
  it. Depth is measured on the raw bytes before anything is parsed, at C speed (``bytes.translate``
  and numpy), so the limit holds whatever the recursion limit is.
- Text: UTF-8 (RFC 8259), no U+0000 (PostgreSQL text cannot hold it), no lone surrogate (not a
  character: it cannot be encoded, so it can be neither stored nor hashed).
- Numbers as I-JSON has them (RFC 7493): no NaN or Infinity (not JSON), none beyond a double's
  range, no integer beyond ±(2^53 - 1). Both content hashes compare numbers as doubles (CBV 2.0
  for events, RFC 8785 for the rest), so larger integers would give different records one hash;
  they belong in strings.

``MAX_IDENTIFIER_CHARS`` bounds the strings that become indexed columns and search terms; each
body's validator applies it to its identifier fields.
"""

import codecs
import json
import math
import re
import sys
from collections.abc import Iterator

import numpy as np

from service.errors import InvalidRecord

MAX_DEPTH = 64
#: Two identifiers joined by a space (a bizTransaction's type and id form one search term), each
#: possibly expanded from a CBV URN to its longer web URI, still fit the 512-character term column.
MAX_IDENTIFIER_CHARS = 250
MAX_SAFE_INTEGER = 2**53 - 1
_SAFE_DIGITS = len(str(MAX_SAFE_INTEGER))
#: CPython's own default, far below what would overflow the C stack of any thread.
RECURSION_LIMIT = 1000

_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'"[]{}')
_IS_STRUCTURE = np.zeros(256, bool)
_IS_STRUCTURE[list(b'"[]{}')] = True
_STEP = np.zeros(256, np.int8)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1
_QUOTE = ord('"')
_CLOSING = bytes.maketrans(b"[{", b"]}")
# \uD800-\uDBFF not followed by \uDC00-\uDFFF, or the latter not preceded by the former (a
# literal start, so the regex engine skips to each "\u" at C speed)
_LONE_SURROGATE_ESCAPE = re.compile(
    rb"\\u[dD](?:[89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD])[c-fC-F][0-9a-fA-F]{2})"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_ECHO = 60


class _Unrepresentable(Exception):
    """Raised by the number hooks of the fast decoder: some number breaks the rules."""


class _Refused:
    """What the locating decoder puts where a number breaks the rules, to find its path."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Members(list):
    """An object's members as (key, value) pairs, in order (for finding where a body got too deep)."""


def parse_json(raw: bytes) -> object:
    """The body parsed as JSON (JSON-LD included), held to the rules of this module.

    InvalidRecord (422) naming the JSON path of the first value at fault, or ``body`` when the
    body is not UTF-8 JSON at all.
    """
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRecord(f"request body is not UTF-8 text: {error}", field="body") from None
    plain = _plain(raw)
    if _too_deep(plain):
        field = _deepest_field(raw, plain)
        raise InvalidRecord(f"{field}: nested deeper than {MAX_DEPTH} levels of arrays and objects", field=field)
    try:
        value = _decode(_DECODER, text)
    except _Unrepresentable:  # parse again, marking the numbers at fault, to name the first
        value = _decode(_LOCATING_DECODER, text)
        _refuse_first(value)
    if b"\\" in plain and (b"\\u0000" in plain or _LONE_SURROGATE_ESCAPE.search(plain)):  # memchr first
        _refuse_first(value)
    return value


def stored_object(text: str) -> dict | None:
    """A stored body as a JSON object the API can return, or None when it is not one that
    :func:`parse_json` accepts (a row edited by hand, or stored before these rules): reads then
    show the stored text instead of failing."""
    try:
        value = parse_json(text.encode("utf-8"))
    except (InvalidRecord, UnicodeEncodeError):
        return None
    return value if isinstance(value, dict) else None


def sane_recursion_limit() -> None:
    """Put the recursion limit back to CPython's default, for good.

    py_ecc and py-evm (web3's and the embedded chain's dependencies) raise it to 100,000 when
    first imported, so that the EVM may nest 1024 calls; our contract nests none. With that limit,
    anything that recurses in C (the JSON decoder on a stored body edited by hand, pickle, repr)
    overflows the C stack, a segfault, before Python could raise RecursionError. Importing them
    first means no later import raises it again.
    """
    import eth  # noqa: F401  (py-evm)
    import py_ecc  # noqa: F401

    sys.setrecursionlimit(RECURSION_LIMIT)


def field_name(path: tuple) -> str:
    """``("epcisBody", "eventList", 3, "bizStep")`` -> ``"epcisBody.eventList[3].bizStep"``; () -> ``"$"``."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{_echo(part)}" for part in path).lstrip(".")
    return text.encode("utf-8", "backslashreplace").decode("utf-8") or "$"  # a key may hold a lone surrogate


def _decode(decoder: json.JSONDecoder, text: str) -> object:
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as error:
        raise InvalidRecord(f"request body is not valid JSON: {error}", field="body") from None


def _plain(raw: bytes) -> bytes:
    """``raw`` with every escaped backslash and quote replaced by two inert bytes: the same length,
    and every ``"`` left opens or closes a string (JSON has backslashes only inside strings)."""
    if b"\\" not in raw:
        return raw
    return raw.replace(b"\\\\", b"__").replace(b'\\"', b"__")


def _too_deep(plain: bytes) -> bool:
    """Whether arrays and objects nest deeper than ``MAX_DEPTH`` (brackets inside strings do not count)."""
    structure = plain.translate(None, _NOT_STRUCTURE)
    if len(structure) - structure.count(b'"') <= MAX_DEPTH:  # too few brackets (a single event, say)
        return False
    marks = np.frombuffer(structure, np.uint8)
    outside = (np.cumsum(marks == _QUOTE, dtype=np.int32) & 1) == 0
    return int(np.cumsum(_STEP[marks] * outside, dtype=np.int32).max(initial=0)) > MAX_DEPTH


def _deepest_field(raw: bytes, plain: bytes) -> str:
    """The path to the first array or object too deep, found without parsing what lies beyond it.

    The body is cut just before that array or object, a ``0`` put in its place and the containers
    still open closed; the result nests no deeper than the limit, and the path to that ``0`` (the
    last member at every level) is the one wanted. A body broken before that point gets the
    decoder's own complaint instead.
    """
    marks_at = np.flatnonzero(_IS_STRUCTURE[np.frombuffer(plain, np.uint8)])
    marks = np.frombuffer(plain, np.uint8)[marks_at]
    steps = _STEP[marks] * ((np.cumsum(marks == _QUOTE, dtype=np.int32) & 1) == 0)
    cut = int(np.argmax(np.cumsum(steps, dtype=np.int32) > MAX_DEPTH))
    still_open = _unmatched(marks[:cut][steps[:cut] != 0].tobytes())
    skeleton = raw[: marks_at[cut]] + b"0" + still_open[::-1].translate(_CLOSING)
    decoder = json.JSONDecoder(object_pairs_hook=_Members, parse_int=str, parse_float=str, parse_constant=str)
    node, path = _decode(decoder, skeleton.decode("utf-8")), []
    while isinstance(node, list) and node and len(path) <= MAX_DEPTH:
        if isinstance(node, _Members):
            key, node = node[-1]
            path.append(key)
        else:
            path.append(len(node) - 1)
            node = node[-1]
    return field_name(tuple(path))


def _unmatched(brackets: bytes) -> bytes:
    """The brackets left open: matched pairs removed, innermost first (as many rounds as levels)."""
    for _ in range(len(brackets) // 2 + 1):
        reduced = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if reduced == brackets:
            break
        brackets = reduced
    return brackets


def _refuse_first(value: object) -> None:
    """Raise InvalidRecord naming the first key or value, in document order, that breaks a rule."""
    for path, item in _items(value):
        problem = _problem(item)
        if problem is not None:
            field = field_name(path)
            raise InvalidRecord(f"{field}: {problem}", field=field)


def _items(value: object) -> Iterator[tuple[tuple, object]]:
    """Every value with its path, and every object key with the path of its member (depth is bounded)."""
    stack = [((), value)]
    while stack:
        path, node = stack.pop()
        yield path, node
        if isinstance(node, dict):
            members = [((*path, key), member) for key, member in node.items()]
            yield from ((member_path, member_path[-1]) for member_path, _ in members)
            stack.extend(reversed(members))
        elif isinstance(node, list):
            stack.extend(reversed([((*path, index), item) for index, item in enumerate(node)]))


def _problem(item: object) -> str | None:
    if isinstance(item, _Refused):
        return item.reason
    if isinstance(item, str):
        if "\0" in item:
            return "must not contain the NUL character (U+0000)"
        if _SURROGATE.search(item):
            return "contains a lone UTF-16 surrogate (\\ud800-\\udfff), which is not a character"
    return None


def _number_rules(refuse) -> dict:
    """Decoder hooks applying the number rules; ``refuse(reason)`` decides what a breach does."""

    def integer(text: str) -> object:
        number = int(text) if len(text.lstrip("-")) <= _SAFE_DIGITS else None  # no int() of 5,000 digits
        if number is None or abs(number) > MAX_SAFE_INTEGER:
            return refuse(f"integer {_echo(text)} is beyond ±(2^53 - 1), so it cannot be hashed exactly; send it as a string")
        return number

    def real(text: str) -> object:
        number = float(text)
        return number if math.isfinite(number) else refuse(f"number {_echo(text)} is beyond the range of a double")

    def constant(name: str) -> object:
        return refuse(f"{name} is not a JSON number")

    return {"parse_int": integer, "parse_float": real, "parse_constant": constant}


def _raise(reason: str) -> object:
    raise _Unrepresentable(reason)


_DECODER = json.JSONDecoder(**_number_rules(_raise))
_LOCATING_DECODER = json.JSONDecoder(**_number_rules(_Refused))


def _echo(value: object) -> str:
    text = str(value)
    return text if len(text) <= _MAX_ECHO else text[: _MAX_ECHO - 3] + "..."
