"""Validating EPCIS 2.0 documents and single events against GS1's official JSON Schema.

The schema bundle (copied in ``schema/``, see its README) is compiled once with ``jsonschema-rs``:
it checks formats too and is far faster than the pure-Python ``jsonschema``, which does not even
check ``uri``/``date-time`` without extra packages and so lets a bizStep like ``"xyz"`` through
(bench/validation.py measures both; the README has the figures). ``$ref``s resolve from the
files on disk only: the registry holds every file under its ``$id`` and retrieval is disabled.

A document is all-or-nothing, so every error found (up to ``MAX_REPORTED_ERRORS``) is reported at
once, each naming the event index and the field path the client has to fix.

The official schema sets no length on identifiers; the fields that become indexed columns and
search terms are held to ``MAX_IDENTIFIER_CHARS`` by a small schema of our own (``_LIMITS``),
compiled together with the official one, so one pass of the validator checks both.
"""

import json
from collections.abc import Iterator
from functools import cache
from importlib.resources import files

import jsonschema_rs

from service.errors import ErrorItem, InvalidRecord
from service.hashing.canonical import EVENT_TYPES
from service.ingest.validation.json_limits import MAX_IDENTIFIER_CHARS

MAX_REPORTED_ERRORS = 20
_ROOT_SCHEMA = "EPCIS-JSON-Schema-root.json"
_DOCUMENT_TYPES = ("EPCISDocument", "EPCISQueryDocument")
# Where each document type keeps its events (the query document nests them in its results).
_EVENT_LIST_PATHS = (("epcisBody", "eventList"), ("epcisBody", "queryResults", "resultsBody", "eventList"))
_COMBINATORS = frozenset({"anyOf", "oneOf"})
_MAX_ECHO = 60
_LIMITS_ID = "https://traceanchor.invalid/schema/limits.json"
_IDENTIFIER = {"maxLength": MAX_IDENTIFIER_CHARS}  # what is not a string, the official schema refuses
_IDENTIFIERS = {"items": _IDENTIFIER}
_QUANTITIES = {"items": {"properties": {"epcClass": _IDENTIFIER, "uom": _IDENTIFIER}}}
_LOCATION = {"properties": {"id": _IDENTIFIER}}
#: The event fields that service.ingest.indexing turns into columns and search terms.
_INDEXED_FIELDS = {
    "epcList": _IDENTIFIERS, "childEPCs": _IDENTIFIERS, "inputEPCList": _IDENTIFIERS, "outputEPCList": _IDENTIFIERS,
    "eventID": _IDENTIFIER, "parentID": _IDENTIFIER, "quantityList": _QUANTITIES, "childQuantityList": _QUANTITIES,
    "inputQuantityList": _QUANTITIES, "outputQuantityList": _QUANTITIES, "bizStep": _IDENTIFIER,
    "disposition": _IDENTIFIER, "readPoint": _LOCATION, "bizLocation": _LOCATION,
    "bizTransactionList": {"items": {"properties": {"type": _IDENTIFIER, "bizTransaction": _IDENTIFIER}}},
    "errorDeclaration": {"properties": {"declarationTime": _IDENTIFIER, "reason": _IDENTIFIER,
                                        "correctiveEventIDs": _IDENTIFIERS}},
    "sourceList": {"items": {"properties": {"type": _IDENTIFIER, "source": _IDENTIFIER}}},
    "destinationList": {"items": {"properties": {"type": _IDENTIFIER, "destination": _IDENTIFIER}}},
    "transformationID": _IDENTIFIER,
    "persistentDisposition": {"properties": {"set": _IDENTIFIERS, "unset": _IDENTIFIERS}},
    "sensorElementList": {"items": {"properties": {
        "sensorMetadata": {"properties": {name: _IDENTIFIER for name in ("deviceID", "dataProcessingMethod", "bizRules")}},
        "sensorReport": {"items": {"properties": {name: _IDENTIFIER for name in (
            "type", "deviceID", "dataProcessingMethod", "microorganism", "chemicalSubstance", "stringValue",
            "hexBinaryValue", "uriValue", "uom")}}},
    }}},
}
_EVENT_LIMITS = {"properties": _INDEXED_FIELDS}
_EVENTS_LIMITS = {"properties": {"eventList": {"items": _EVENT_LIMITS}}}
# A bare event is checked at the root (a document has none of these fields there).
_LIMITS = {
    "$id": _LIMITS_ID,
    "properties": {
        **_INDEXED_FIELDS,
        "epcisBody": {"properties": {**_EVENTS_LIMITS["properties"],
                                     "queryResults": {"properties": {"resultsBody": _EVENTS_LIMITS}}}},
    },
}


class SchemaViolation(InvalidRecord):
    """The document breaks the EPCIS schema; ``errors`` lists every problem found, for the API to return.

    Each error's ``index`` is the event's position in the document (None for document-level
    problems), its ``field`` a path such as ``epcisBody.eventList[3].bizStep`` ("$": the whole document).
    """


class TooManyEvents(InvalidRecord):
    """The document holds more events than one submission may carry (checked before the schema)."""

    status_code = 413


def validate_document(document: object, *, max_events: int, official: bool = True) -> None:
    """Accept an EPCISDocument, an EPCISQueryDocument or one bare event, or raise.

    Raises ``TooManyEvents`` above ``max_events`` events, ``SchemaViolation`` on any schema error.
    Without ``official`` only our limits and the event types are checked: the JSON-LD form of an XML
    document, which the official XSDs have validated, keeps the values as the XML gave them (CBV
    URNs such as ``urn:epcglobal:cbv:bizstep:shipping``, which XML allows and the JSON Schema does not).
    """
    if not isinstance(document, dict):
        raise SchemaViolation.of([_error(None, "$", f"expected a JSON object, got {_json_type(document)}")])
    if "epcisBody" in document or document.get("type") in _DOCUMENT_TYPES:
        events_path, events = check_event_count(document, max_events=max_events)
    elif isinstance(document.get("type"), str) and document["type"].endswith("Event"):
        events_path, events = (), [document]
    else:
        raise SchemaViolation.of(
            [_error(None, "type", "neither an EPCIS document (type EPCISDocument or EPCISQueryDocument) nor an event")]
        )
    type_errors = dict(_event_type_errors(events_path, events))
    validator = _validator(official)
    if not type_errors and validator.is_valid(document):
        return
    schema_errors = (
        error for error in _schema_errors(validator, document, events_path) if error.index not in type_errors
    )
    raise SchemaViolation.of(_first_unique([*type_errors.values()], schema_errors))


def check_event_count(document: dict, *, max_events: int) -> tuple[tuple[str, ...], list]:
    """The path to a document's event list and its events; ``TooManyEvents`` above ``max_events``
    (checked alone where the schema is checked later, as capture jobs do)."""
    events_path, events = _event_list(document)
    if len(events) > max_events:
        raise TooManyEvents(f"{len(events)} events in one document; at most {max_events} are accepted", field=_field(events_path))
    return events_path, events


def events_field(document: dict) -> str:
    """The JSON path of a document's event list (``epcisBody.eventList``, or that of a query document)."""
    return _field(_event_list(document)[0])


@cache
def _validator(official: bool = True) -> jsonschema_rs.Draft7Validator:
    """The root schema and our limits (``official``; else our limits alone), compiled against a
    registry of every bundled file (once per process)."""
    schema_dir = files(__package__) / "schema"
    resources = [
        json.loads(entry.read_text(encoding="utf-8"))
        for folder in (schema_dir, schema_dir / "schemas")
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    ]
    registry = jsonschema_rs.Registry([(resource["$id"], resource) for resource in [*resources, _LIMITS]])
    root = json.loads((schema_dir / _ROOT_SCHEMA).read_text(encoding="utf-8"))
    schema = {"allOf": [{"$ref": root["$id"]}, {"$ref": _LIMITS_ID}] if official else [{"$ref": _LIMITS_ID}]}
    return jsonschema_rs.Draft7Validator(schema, registry=registry, validate_formats=True, offline=True)


def _event_list(document: dict) -> tuple[tuple[str, ...], list]:
    """The path to the document's event list and its events ([] if absent: the schema will say so)."""
    for path in _EVENT_LIST_PATHS:
        node: object = document
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, list):
            return path, node
    return _EVENT_LIST_PATHS[0], []


def _event_type_errors(events_path: tuple[str, ...], events: list) -> Iterator[tuple[int, ErrorItem]]:
    """Events that are not objects or not of a standard type, which the ledger cannot hash.

    The schema would accept any URI as an extension event type and bury a misspelt type under
    a dozen unrelated errors; one clear message per such event is more useful.
    """
    for index, event in enumerate(events):
        event_path = (*events_path, index) if events_path else ()  # a bare event is the document
        if not isinstance(event, dict):
            message = f"event {index}: expected a JSON object, got {_json_type(event)}"
            yield index, _error(index, _field(event_path), message)
        elif event.get("type") not in EVENT_TYPES:
            expected = ", ".join(sorted(EVENT_TYPES))
            message = f"event {index}: unknown event type {_echo(event.get('type'))}; expected one of {expected}"
            yield index, _error(index, _field((*event_path, "type")), message)


def _schema_errors(validator: jsonschema_rs.Draft7Validator, document: dict, events_path: tuple[str, ...]) -> Iterator[ErrorItem]:
    """Schema errors, the most specific cause of each."""
    for raw in validator.iter_errors(document):
        error = _most_specific(raw)
        path = list(error.instance_path)
        message = _short_message(error)
        if path and isinstance(path[-1], str):
            message = f"{path[-1]}: {message}"
        if error.kind.name in ("required", "propertyNames"):
            # The culprit is a property of the object the error sits on: name it in the field.
            name = _leading_json(error.message)
            if isinstance(name, str):
                path.append(name)
        if error.kind.name == "propertyNames":
            message = f"unexpected property {_echo(path[-1])}: neither an EPCIS field nor a URI"
        index = _event_index(path, events_path)
        yield _error(index, _field(path), message if index is None else f"event {index}: {message}")


def _most_specific(error: jsonschema_rs.ValidationError) -> jsonschema_rs.ValidationError:
    """Like ``jsonschema.exceptions.best_match``: inside anyOf/oneOf, the deepest failing branch error.

    A failed combinator over an object says little ("{...} is not valid under any of the schemas");
    the alternative that got furthest into the object usually names the real mistake.
    """
    if error.kind.name not in _COMBINATORS:
        return error
    candidates = [sub for branch in error.kind.context for sub in branch]
    if not candidates:
        return error
    deepest = max(candidates, key=lambda sub: len(sub.instance_path))
    if len(deepest.instance_path) <= len(error.instance_path):
        return error
    return _most_specific(deepest)


def _short_message(error: jsonschema_rs.ValidationError) -> str:
    """The library's message with the instance echo cut short (it may be a whole event)."""
    if error.kind.name in _COMBINATORS and isinstance(error.instance, dict):
        alternatives = "; or ".join(
            " and ".join(_short_message(sub) for sub in branch) for branch in error.kind.context if branch
        )
        return f"none of the allowed alternatives holds: {alternatives}"
    message = error.message.replace("the schemas listed in the 'anyOf' keyword", "the given schemas")
    leading = _leading_json(message)
    if isinstance(leading, dict | list | str):  # the instance, which may be a whole event or a huge string
        _, end = json.JSONDecoder().raw_decode(message)
        return (_echo(leading) if isinstance(leading, str) else _json_type(leading)) + message[end:]
    return message


def _leading_json(message: str) -> object:
    """The JSON value a jsonschema-rs message starts with (the instance or property it is about)."""
    try:
        value, _ = json.JSONDecoder().raw_decode(message)
    except json.JSONDecodeError:
        return None
    return value


def _event_index(path: list, events_path: tuple[str, ...]) -> int | None:
    if not events_path:  # a bare event: every error is about event 0
        return 0
    prefix = len(events_path)
    if len(path) > prefix and tuple(path[:prefix]) == events_path and isinstance(path[prefix], int):
        return path[prefix]
    return None


def _field(path: list | tuple) -> str:
    """``["epcisBody", "eventList", 3, "bizStep"]`` -> ``"epcisBody.eventList[3].bizStep"``; [] -> "$"."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    return text or "$"


def _error(event_index: int | None, field: str, message: str) -> ErrorItem:
    return ErrorItem(field=field, message=message, index=event_index)


def _first_unique(type_errors: list[ErrorItem], schema_errors: Iterator[ErrorItem]) -> list[ErrorItem]:
    """Up to ``MAX_REPORTED_ERRORS`` errors, one per field, document-level first, then by event.

    Nested allOf/if-then branches report one failure several times, sometimes in other words
    (an enum, then a pattern of a combinator); the first is the plainest. The schema errors are
    consumed lazily so that a document full of broken events costs no more than the cap.
    """
    seen = {error.field: error for error in type_errors}
    for error in schema_errors:
        if len(seen) >= MAX_REPORTED_ERRORS:
            break
        seen.setdefault(error.field, error)
    ordered = sorted(seen.values(), key=lambda e: (e.index is not None, e.index or 0))
    return ordered[:MAX_REPORTED_ERRORS]


def _echo(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_ECHO else text[: _MAX_ECHO - 3] + "..."


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
