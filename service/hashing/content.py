"""32-byte content hashes of stored records: the value anchored in the Merkle tree.

EPCIS events are hashed by their CBV 2.0 Event Hash ID, so the anchored value is the one any
EPCIS party can recompute from any representation of the event. Every other record (commercial
transactions, labels, ...) is plain JSON without such a standard, hashed as its RFC 8785 (JCS)
canonical serialisation: key order, whitespace and number spelling then do not matter.
"""

from hashlib import sha256

import rfc8785

from .epcis import HASH_ID_PREFIX, HASH_ID_SUFFIX, event_hash_id
from .errors import HashingError

EPCIS_EVENT = "epcis_event"


def jcs_digest(value: object) -> bytes:
    """SHA-256 of the RFC 8785 canonical JSON of ``value``."""
    try:
        return sha256(rfc8785.dumps(value)).digest()
    except (rfc8785.CanonicalizationError, TypeError) as error:
        raise HashingError(f"value: not canonicalisable JSON: {error}") from None


def content_hash(*, kind: str, body: dict) -> bytes:
    """32-byte content hash: kind == "epcis_event" -> digest of event_hash_id(body); any other kind
    (e.g. "transaction", "label") -> jcs_digest(body)."""
    if kind == EPCIS_EVENT:
        return bytes.fromhex(event_hash_id(body)[len(HASH_ID_PREFIX):-len(HASH_ID_SUFFIX)])
    return jcs_digest(body)
