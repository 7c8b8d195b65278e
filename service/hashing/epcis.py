"""EPCIS documents to events, and events to CBV 2.0 Event Hash IDs (``ni:///sha-256;<hex>?ver=CBV2.0``).

An event is hashed on its own: its namespace prefixes come from the ``@context`` it carries, and a
repository's ``ignoreFields`` list travels with it. ``events_of`` therefore hands out events that
carry both, so a stored event re-hashes to the same ID without its original document.
"""

from collections.abc import Iterator
from hashlib import sha256

from .canonical import EVENT_TYPES, IGNORE_FIELDS, is_ignore_fields_key, pre_hash
from .errors import HashingError
from .vocabulary import expand_key, namespaces_of

HASH_ID_PREFIX = "ni:///sha-256;"
HASH_ID_SUFFIX = "?ver=CBV2.0"


def _context_entries(context: object) -> list:
    if context is None:
        return []
    return list(context) if isinstance(context, list) else [context]


def _merged_context(outer: object, inner: object) -> object:
    """The document's @context followed by the event's own (later JSON-LD definitions win)."""
    if inner is None:
        return outer
    if outer is None:
        return inner
    return _context_entries(outer) + [e for e in _context_entries(inner) if e not in _context_entries(outer)]


def _ignore_lists(*holders: dict) -> tuple[str | None, list[str]]:
    """The ``ignoreFields`` key name and the union of the listed fields over ``holders``."""
    key_name, fields = None, []
    for holder in holders:
        for key, value in holder.items():
            if is_ignore_fields_key(key):
                key_name = key_name or key
                fields.extend(f for f in (value if isinstance(value, list) else [value]) if f not in fields)
    return key_name, fields


def _event_list(document: dict) -> tuple[list, list[dict]]:
    """The raw events of a document and the objects that may hold an ``ignoreFields`` list."""
    body = document.get("epcisBody")
    if body is None:
        if document.get("type") in EVENT_TYPES:
            return [document], []
        raise HashingError("epcisBody: missing, and the document is not a single EPCIS event")
    if not isinstance(body, dict):
        raise HashingError("epcisBody: expected a JSON object")
    holders = [document]
    if "eventList" in body:
        events = body["eventList"]
    elif "queryResults" in body:
        results = body["queryResults"]
        if not isinstance(results, dict) or not isinstance(results.get("resultsBody"), dict):
            raise HashingError("epcisBody.queryResults.resultsBody: missing")
        holders.append(results)
        events = results["resultsBody"].get("eventList", [])
    elif "event" in body:
        events = [body["event"]]
    else:
        raise HashingError("epcisBody: has neither eventList, queryResults nor event")
    if not isinstance(events, list):
        raise HashingError("epcisBody.eventList: expected a JSON array")
    return events, holders


def _json_copy(value: object) -> object:
    """Deep copy of parsed JSON (several times faster than copy.deepcopy for this one shape)."""
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_copy(v) for v in value]
    return value


def events_of(document: dict) -> list[dict]:
    """Events of a document in document order, each a self-contained copy carrying the document's
    "@context" (merged with its own, if any) so that it can be stored alone and re-hashed later.

    A document-level ``ignoreFields`` list is copied into each event for the same reason.
    """
    if not isinstance(document, dict):
        raise HashingError("document: expected a JSON object")
    events, holders = _event_list(document)
    if not holders:
        return [_json_copy(document)]
    context = document.get("@context")
    ignore_key, ignore_fields = _ignore_lists(*holders)
    copies = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise HashingError(f"eventList[{index}]: expected a JSON object")
        copy = _json_copy(event)
        merged = _merged_context(context, event.get("@context"))
        if merged is not None:
            copy = {"@context": merged, **{k: v for k, v in copy.items() if k != "@context"}}
        if ignore_fields:
            own_key, own_fields = _ignore_lists(copy)
            copy[own_key or ignore_key] = own_fields + [f for f in ignore_fields if f not in own_fields]
        copies.append(copy)
    return copies


def _hashing_inputs(event: dict) -> tuple[dict, frozenset[str]]:
    namespaces = namespaces_of(event.get("@context"))
    if not any(key.endswith(IGNORE_FIELDS) for key in event):  # the common case, without building lists
        return namespaces, frozenset()
    _, fields = _ignore_lists(event)
    return namespaces, frozenset(expand_key(f, namespaces) for f in fields if isinstance(f, str))


def pre_hash_string(event: dict) -> str:
    """The canonical pre-hash string (debug aid: compare with another implementation's)."""
    if not isinstance(event, dict):
        raise HashingError(f"event: expected a JSON object, got {type(event).__name__}")
    namespaces, ignored = _hashing_inputs(event)
    return pre_hash(event, namespaces=namespaces, ignored=ignored)


def event_hash_id(event: dict) -> str:
    """``ni:///sha-256;<64 hex>?ver=CBV2.0`` of a single event (which carries its own @context)."""
    return HASH_ID_PREFIX + sha256(pre_hash_string(event).encode()).hexdigest() + HASH_ID_SUFFIX


def _document_pre_hashes(document: dict) -> Iterator[str]:
    """Pre-hash strings of all events without copying them (namespaces resolved once per document)."""
    if not isinstance(document, dict):
        raise HashingError("document: expected a JSON object")
    events, holders = _event_list(document)
    if not holders:
        yield pre_hash_string(document)
        return
    shared = namespaces_of(document.get("@context"))
    _, document_fields = _ignore_lists(*holders)
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise HashingError(f"eventList[{index}]: expected a JSON object")
        namespaces = shared
        if "@context" in event:
            namespaces = namespaces_of(_merged_context(document.get("@context"), event["@context"]))
        _, own_fields = _ignore_lists(event)
        ignored = frozenset(expand_key(f, namespaces) for f in document_fields + own_fields if isinstance(f, str))
        yield pre_hash(event, namespaces=namespaces, ignored=ignored)


def hash_document(document: dict) -> list[str]:
    """Event Hash IDs of all events of a document, in document order."""
    return [
        HASH_ID_PREFIX + sha256(text.encode()).hexdigest() + HASH_ID_SUFFIX
        for text in _document_pre_hashes(document)
    ]

