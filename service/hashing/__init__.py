"""Canonical content hashing: CBV 2.0 Event Hash IDs for EPCIS events, RFC 8785 JCS for other records.

See docs/event-hash.md for the algorithm and the choices made where reference implementations differ.
"""

from .content import content_hash, declares_error, jcs_digest
from .epcis import event_hash_id, events_of, hash_document, pre_hash_string
from .errors import HashingError

__all__ = [
    "HashingError",
    "content_hash",
    "declares_error",
    "event_hash_id",
    "events_of",
    "hash_document",
    "jcs_digest",
    "pre_hash_string",
]
