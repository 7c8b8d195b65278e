"""32-byte content hashes of stored records: the value anchored in the Merkle tree.

EPCIS events are hashed by their CBV 2.0 Event Hash ID, so the anchored value is the one any
EPCIS party can recompute from any representation of the event. Every other record (commercial
transactions, labels, ...) is plain JSON without such a standard, hashed as its RFC 8785 (JCS)
canonical serialisation: key order, whitespace and number spelling then do not matter.
"""

import json
from hashlib import sha256

import rfc8785

from .epcis import HASH_ID_PREFIX, HASH_ID_SUFFIX, event_hash_id
from .errors import HashingError

EPCIS_EVENT = "epcis_event"


_SAFE_INTEGER = 2**53 - 1
_FIRST_SURROGATE = "\ud800"


def jcs_digest(value: object) -> bytes:
    """SHA-256 of the RFC 8785 canonical JSON of ``value``."""
    return sha256(jcs(value)).digest()


def jcs(value: object) -> bytes:
    """The RFC 8785 canonical JSON of ``value``.

    Values without floats, with integers an IEEE double holds exactly and keys below U+D800 (every
    record's in practice) are written by the C JSON encoder: for them JCS is exactly ``json.dumps``
    with sorted keys, no whitespace and no ASCII escaping (the same escapes; code point order is
    UTF-16 order below the surrogates; such integers print as their digits). Anything else goes
    to the ``rfc8785`` library, which the tests use as the oracle for both paths.
    """
    if _plain(value):
        try:
            return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        except UnicodeEncodeError:
            pass  # a lone surrogate in a string: the library says why it is not JSON
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError) as error:
        raise HashingError(f"value: not canonicalisable JSON: {error}") from None


def _plain(value: object) -> bool:
    """Whether ``value`` is JSON that the C encoder writes exactly as JCS does (iterative: any depth)."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -_SAFE_INTEGER <= item <= _SAFE_INTEGER:
                continue
            return False
        if kind is dict:
            for key in item:
                if type(key) is not str or not (key.isascii() or max(key) < _FIRST_SURROGATE):
                    return False
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
        else:
            return False
    return True


def declares_error(event: dict) -> bool:
    """Whether an EPCIS event is an error declaration (``errorDeclaration`` set).

    The Event Hash ID leaves ``errorDeclaration`` out, so a declaration has its original's ID; it is
    hashed over its full content instead (JCS), so the anchored value of the declaration differs from
    the original's and covers the declaration's time, reason and corrective events.
    """
    return event.get("errorDeclaration") is not None


def content_hash(*, kind: str, body: dict) -> bytes:
    """32-byte content hash: kind == "epcis_event" -> digest of event_hash_id(body), or jcs_digest(body)
    for an error declaration (:func:`declares_error`); any other kind (e.g. "transaction", "label") ->
    jcs_digest(body)."""
    if kind == EPCIS_EVENT and not declares_error(body):
        return bytes.fromhex(event_hash_id(body)[len(HASH_ID_PREFIX):-len(HASH_ID_SUFFIX)])
    return jcs_digest(body)
