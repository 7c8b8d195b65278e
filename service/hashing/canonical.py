"""The canonical pre-hash string of one EPCIS 2.0 event (GS1 CBV 2.0, "Event Hash ID").

Shape of the string: ``eventType=<type>``, then the standard fields in the fixed CBV order, then
every other field (business transactions, sources, destinations, ILMD, user extensions) rendered
generically and sorted. A field renders as ``name=value`` or, when structured, as ``name`` followed
by its children; repeated elements (list items) are sorted as strings, so list order never matters.
Names of user extensions are written ``{namespace}local`` so the prefix chosen does not matter.
"""

from collections.abc import Callable, Iterable, Mapping

from .errors import HashingError
from .values import canonical_iri, canonical_scalar, canonical_text, canonical_timestamp
from .vocabulary import (
    BIZ_STEPS,
    BIZ_TRANSACTION_TYPES,
    DISPOSITIONS,
    MEASUREMENT_TYPES,
    SENSOR_COMPONENTS,
    SENSOR_EXCEPTIONS,
    SOURCE_DESTINATION_TYPES,
    expand_key,
)

EVENT_TYPES = frozenset(
    {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"}
)
# Not part of the event's content: its identity and capture metadata, and error declarations
# (declaring an error must not change the ID of the event it declares erroneous).
_EXCLUDED_EVENT_FIELDS = frozenset({"type", "eventID", "recordTime", "errorDeclaration"})
_COMMENTS = frozenset({"comment", "rdfs:comment", "{http://www.w3.org/2000/01/rdf-schema#}comment"})
IGNORE_FIELDS = "ignoreFields"


def is_ignore_fields_key(key: str) -> bool:
    """``ignoreFields`` in any namespace: the repository-specific list of fields the hash skips."""
    return key == IGNORE_FIELDS or key.endswith(":" + IGNORE_FIELDS)

Namespaces = Mapping[str, str]
# A renderer turns one field's JSON value into the pieces it contributes (sorted by the caller).
Renderer = Callable[[object, str, Namespaces], list[str]]
Order = tuple[tuple[str, Renderer], ...]


def _items(value: object) -> list:
    """A JSON value as a flat list of items: a scalar or object is a one-item list, null is none."""
    if value is None:
        return []
    if not isinstance(value, list):
        return [value]
    flat = []
    for item in value:
        flat.extend(_items(item))
    return flat


def _object(value: object, field: str) -> dict:
    if not isinstance(value, dict):
        raise HashingError(f"{field}: expected a JSON object, got {type(value).__name__}")
    return value


def _scalar() -> Renderer:
    """``name=value`` per item of a literal-valued field (e.g. ``action``, ``uom``, ``stringValue``)."""
    return _field(terms={}, iri=False)


def _iri(terms: Mapping[str, str] | None = None) -> Renderer:
    """``name=value`` per item of an IRI-valued field; ``terms`` are the CBV short names it may use."""
    return _field(terms=terms or {}, iri=True)


def _field(*, terms: Mapping[str, str], iri: bool) -> Renderer:
    def text_of(value: object, field: str, namespaces: Namespaces) -> str:
        if isinstance(value, (dict, list)):
            raise HashingError(f"{field}: expected a single value, got {type(value).__name__}")
        if isinstance(value, str) and iri:
            value = value.strip()
            term = terms.get(value)
            return canonical_text(term, namespaces) if term else canonical_iri(value, namespaces)
        return canonical_scalar(value, field=field, namespaces=namespaces)

    def render(value: object, name: str, namespaces: Namespaces) -> list[str]:
        texts = (text_of(item, name, namespaces) for item in _items(value))
        return [f"{name}={text}" for text in texts if text]

    return render


def _timestamp(value: object, name: str, namespaces: Namespaces) -> list[str]:
    return [f"{name}={canonical_timestamp(item, field=name)}" for item in _items(value)]


def _identifier_list(value: object, name: str, namespaces: Namespaces) -> list[str]:
    """``epcList`` + sorted ``epc=...`` items (the XML element name of every EPC list item).

    A flat list of strings (the usual case) skips the generic item renderer: EPCs are the one
    field whose values are new in every event, so its per-item cost is what ingest pays.
    """
    if type(value) is list and all(type(item) is str for item in value):
        epcs = sorted(f"epc={text}" for text in (canonical_iri(item.strip(), namespaces) for item in value) if text)
    else:
        epcs = sorted(_EPC(value, "epc", namespaces))
    return [name + "".join(epcs)] if epcs else []


def _structure(order: Order) -> Renderer:
    """``name`` + children in ``order`` + sorted extension children, one piece per object."""

    def render(value: object, name: str, namespaces: Namespaces) -> list[str]:
        pieces = (_children(_object(item, name), order, namespaces) for item in _items(value))
        return [name + text for text in pieces if text]

    return render


def _wrapped(element_name: str, order: Order) -> Renderer:
    """A list whose items are structures named ``element_name`` (``quantityList`` -> ``quantityElement``)."""
    element = _structure(order)

    def render(value: object, name: str, namespaces: Namespaces) -> list[str]:
        elements = sorted(element(value, element_name, namespaces))
        return [name + "".join(elements)] if elements else []

    return render


def _typed_reference(reference: str, types: Mapping[str, str]) -> Renderer:
    """bizTransactionList/sourceList/destinationList: ``type=...`` first, then the reference."""
    order: Order = (("type", _iri(types)), (reference, _iri()))

    def render(value: object, name: str, namespaces: Namespaces) -> list[str]:
        elements = (_children(_object(item, name), order, namespaces) for item in _items(value))
        listed = sorted(text for text in elements if text)
        return [name + "".join(listed)] if listed else []

    return render


_EPC = _iri()
_QUANTITY: Order = (("epcClass", _iri()), ("quantity", _scalar()), ("uom", _scalar()))
_ID_ONLY: Order = (("id", _iri()),)
_SENSOR_METADATA: Order = (
    ("time", _timestamp), ("startTime", _timestamp), ("endTime", _timestamp),
    ("deviceID", _iri()), ("deviceMetadata", _iri()), ("rawData", _iri()),
    ("dataProcessingMethod", _iri()), ("bizRules", _iri()),
)
_SENSOR_REPORT: Order = (
    ("type", _iri(MEASUREMENT_TYPES)), ("exception", _iri(SENSOR_EXCEPTIONS)),
    ("deviceID", _iri()), ("deviceMetadata", _iri()), ("rawData", _iri()),
    ("dataProcessingMethod", _iri()), ("time", _timestamp), ("microorganism", _iri()),
    ("chemicalSubstance", _iri()), ("value", _scalar()), ("component", _iri(SENSOR_COMPONENTS)),
    ("stringValue", _scalar()), ("booleanValue", _scalar()), ("hexBinaryValue", _scalar()),
    ("uriValue", _iri()), ("minValue", _scalar()), ("maxValue", _scalar()),
    ("meanValue", _scalar()), ("sDev", _scalar()), ("percRank", _scalar()),
    ("percValue", _scalar()), ("uom", _scalar()), ("coordinateReferenceSystem", _iri()),
)
_SENSOR_ELEMENT: Order = (
    ("sensorMetadata", _structure(_SENSOR_METADATA)),
    ("sensorReport", _structure(_SENSOR_REPORT)),
)

# CBV 2.0 canonical property order (as in the reference implementation that produced the
# conformance vectors: certificationInfo right after the time zone, parentID before epcList).
EVENT_ORDER: Order = (
    ("eventTime", _timestamp),
    ("eventTimeZoneOffset", _scalar()),
    ("certificationInfo", _iri()),
    ("parentID", _iri()),
    ("epcList", _identifier_list),
    ("inputEPCList", _identifier_list),
    ("childEPCs", _identifier_list),
    ("quantityList", _wrapped("quantityElement", _QUANTITY)),
    ("childQuantityList", _wrapped("quantityElement", _QUANTITY)),
    ("inputQuantityList", _wrapped("quantityElement", _QUANTITY)),
    ("outputEPCList", _identifier_list),
    ("outputQuantityList", _wrapped("quantityElement", _QUANTITY)),
    ("action", _scalar()),
    ("transformationID", _iri()),
    ("bizStep", _iri(BIZ_STEPS)),
    ("disposition", _iri(DISPOSITIONS)),
    ("persistentDisposition", _structure((("set", _iri(DISPOSITIONS)), ("unset", _iri(DISPOSITIONS))))),
    ("readPoint", _structure(_ID_ONLY)),
    ("bizLocation", _structure(_ID_ONLY)),
    ("sensorElementList", _wrapped("sensorElement", _SENSOR_ELEMENT)),
)
# Standard fields outside the fixed order: rendered with the extensions, sorted among them.
_UNORDERED_STANDARD: dict[str, Renderer] = {
    "bizTransactionList": _typed_reference("bizTransaction", BIZ_TRANSACTION_TYPES),
    "sourceList": _typed_reference("source", SOURCE_DESTINATION_TYPES),
    "destinationList": _typed_reference("destination", SOURCE_DESTINATION_TYPES),
}


def _generic(value: object, name: str, namespaces: Namespaces) -> list[str]:
    """Any field not covered by an order: ``name=value``, or ``name`` + sorted children.

    A name ending in ``List`` wraps its items under the singular name, as the XML binding does
    (``fooList`` -> ``foo`` elements), so that JSON and XML renderings agree.
    """
    if name.endswith("List"):
        items = sorted(piece for item in _items(value) for piece in _generic(item, name[:-4], namespaces))
        return [name + "".join(items)] if items else []
    pieces = []
    for item in _items(value):
        if isinstance(item, dict):
            pieces.append(name + "".join(sorted(_extension_pieces(item, (), namespaces))))
        else:
            text = canonical_scalar(item, field=name, namespaces=namespaces)
            pieces.append(f"{name}={text}" if text else name)
    return pieces


def _extension_pieces(node: dict, known: Iterable[str], namespaces: Namespaces) -> list[str]:
    pieces = []
    for key, value in node.items():
        if key in known or key[:1] == "@" or key in _COMMENTS:
            continue
        name = expand_key(key, namespaces)
        if name not in _COMMENTS:
            pieces.extend(_generic(value, name, namespaces))
    return pieces


def _children(node: dict, order: Order, namespaces: Namespaces) -> str:
    """Ordered children of a structure, then its extension children sorted."""
    text = ""
    for name, render in order:
        if name in node:
            text += "".join(sorted(render(node[name], name, namespaces)))
    known = [name for name, _ in order]
    return text + "".join(sorted(_extension_pieces(node, known, namespaces)))


def pre_hash(event: dict, *, namespaces: Namespaces, ignored: frozenset[str] = frozenset()) -> str:
    """The canonical pre-hash string of ``event``; ``ignored`` holds expanded names to leave out.

    ``namespaces`` must not change after the call (those of ``namespaces_of`` are read-only): the
    rendering of repeated field values is memoised per namespaces object.
    """
    if not isinstance(event, dict):
        raise HashingError(f"event: expected a JSON object, got {type(event).__name__}")
    event_type = event.get("type")
    if event_type not in EVENT_TYPES:
        raise HashingError(f"type: not an EPCIS 2.0 event type: {event_type!r}")
    if "eventTime" not in event:
        raise HashingError("eventTime: missing")
    memo = _memo_for(namespaces)
    ordered, rest = [], []
    for key, value in event.items():
        position = _ORDER_POSITION.get(key)
        if position is not None:
            rank, render = position
            ordered.append((rank, "".join(_rendered(render, value, key, namespaces, memo))))
        elif not (key in _NOT_IN_REST or key[:1] == "@" or is_ignore_fields_key(key)):
            name = expand_key(key, namespaces)
            if name not in ignored and name not in _COMMENTS:
                rest.extend(_rendered(_UNORDERED_STANDARD.get(key, _generic), value, name, namespaces, memo))
    ordered.sort()
    return "eventType=" + event_type + "".join(text for _, text in ordered) + "".join(sorted(rest))


def _rendered(render: Renderer, value: object, name: str, namespaces: Namespaces, memo: dict) -> tuple[str, ...]:
    """``render``'s sorted pieces, memoised when the value is made of strings and tends to recur
    (locations, vocabulary, transactions); timestamps and EPC lists are unique per event."""
    if render in _UNIQUE_PER_EVENT:
        key = None
    else:
        key = value if type(value) is str else _frozen(value)
    if key is None:
        return tuple(sorted(render(value, name, namespaces)))
    key = (render, name, key)
    pieces = memo.get(key)
    if pieces is None:
        pieces = tuple(sorted(render(value, name, namespaces)))
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[key] = pieces
    return pieces


def _frozen(value: object) -> object | None:
    """A hashable, type-tagged stand-in for a JSON value built from strings, objects and arrays, or
    None when it holds anything else (numbers and booleans would collide: ``1 == True == 1.0``)."""
    if type(value) is str:
        return value
    if type(value) is dict:
        items = []
        for key, item in value.items():
            frozen = item if type(item) is str else _frozen(item)
            if frozen is None:
                return None
            items.append((key, frozen))
        return dict, tuple(items)
    if type(value) is list:
        items = tuple(_frozen(item) for item in value)
        return None if None in items else (list, items)
    return None


_MEMO_LIMIT = 1 << 14
_memos: dict[int, tuple[Namespaces, dict]] = {}


def _memo_for(namespaces: Namespaces) -> dict:
    """The rendering memo of one namespaces object; the entry holds the object, so its id stays unique."""
    entry = _memos.get(id(namespaces))
    if entry is None or entry[0] is not namespaces:
        if len(_memos) >= 64:
            _memos.clear()
        entry = _memos[id(namespaces)] = (namespaces, {})
    return entry[1]


_ORDER_POSITION = {name: (rank, render) for rank, (name, render) in enumerate(EVENT_ORDER)}
_UNIQUE_PER_EVENT = frozenset({_timestamp, _identifier_list})
_NOT_IN_REST = frozenset(name for name, _ in EVENT_ORDER) | _EXCLUDED_EVENT_FIELDS | _COMMENTS
