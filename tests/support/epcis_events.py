"""Hypothesis strategies of EPCIS 2.0 JSON-LD events of all five types, valid against the official
JSON Schema, with the fields the standard gives each type: EPC and quantity lists, vocabulary as
short terms and web URIs, places, business transactions, sources and destinations, sensor elements,
persistent dispositions, ILMD, certification info, error declarations and user extensions."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from service.hashing.vocabulary import (
    BIZ_STEPS,
    BIZ_TRANSACTION_TYPES,
    DISPOSITIONS,
    ERROR_REASONS,
    MEASUREMENT_TYPES,
    SOURCE_DESTINATION_TYPES,
)

STANDARD_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EXTENSION_NAMESPACES = {"ext1": "https://ns.example.com/ext1/", "ext2": "http://example.org/ext2#"}
CONTEXT = [STANDARD_CONTEXT, dict(EXTENSION_NAMESPACES)]

_digits = st.text("0123456789", min_size=1, max_size=1)
_serial = st.text("ABCabc0123456789", min_size=1, max_size=8)
_word = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
_local_name = st.text("abcdefghij", min_size=1, max_size=6)


def _sgtin(serial: str) -> str:
    return f"urn:epc:id:sgtin:0614141.107346.{serial}"


epcs = st.lists(_serial, min_size=1, max_size=4, unique=True).map(lambda serials: [_sgtin(s) for s in serials])
locations = st.sampled_from(["urn:epc:id:sgln:0614141.07346.1234", "urn:epc:id:sgln:4012345.00011.0",
                             "https://id.gs1.org/414/4012345000252"])
epc_classes = st.sampled_from(["urn:epc:class:lgtin:4012345.012345.998877", "urn:epc:idpat:sgtin:4012345.012345.*",
                               "https://id.gs1.org/01/04012345111118/10/1234"])
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)).map(
    lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=UTC))
offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda quarters: timedelta(minutes=15 * quarters))


def _zone(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _spelt(instant: datetime, offset: timedelta) -> str:
    local = instant.astimezone(timezone(offset))
    zone = "Z" if not offset else _zone(offset)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f".{local.microsecond // 1000:03d}" + zone


times = st.builds(_spelt, instants, offsets)
zone_offsets = offsets.map(_zone)


def _vocabulary(terms: dict[str, str]):
    """A CBV term as its short name or its web URI (the JSON Schema refuses the URNs in JSON)."""
    return st.sampled_from(sorted(terms)).flatmap(lambda term: st.sampled_from([term, terms[term]]))


biz_steps = _vocabulary(BIZ_STEPS)
dispositions = _vocabulary(DISPOSITIONS)
quantities = st.one_of(st.integers(min_value=0, max_value=10**6),
                       st.decimals(min_value=0, max_value=10**4, places=3, allow_nan=False).map(float))
quantity_lists = st.lists(st.fixed_dictionaries({"epcClass": epc_classes}, optional={
    "quantity": quantities, "uom": st.sampled_from(["KGM", "LTR", "EA"])}).map(
    lambda item: item if "quantity" in item or "uom" not in item else {k: v for k, v in item.items() if k != "uom"}),
    min_size=1, max_size=3, unique_by=repr)
biz_transactions = st.lists(st.fixed_dictionaries({
    "type": _vocabulary(BIZ_TRANSACTION_TYPES),
    "bizTransaction": _serial.map(lambda s: f"urn:epcglobal:cbv:bt:0614141073467:{s}")}), min_size=1, max_size=3, unique_by=repr)


def _parties(name: str):
    return st.lists(st.fixed_dictionaries({"type": _vocabulary(SOURCE_DESTINATION_TYPES),
                                           name: locations}), min_size=1, max_size=3, unique_by=repr)


extension_values = st.recursive(
    st.one_of(_word, st.integers(min_value=-1000, max_value=1000).map(str), st.booleans()),
    lambda children: st.dictionaries(st.sampled_from(["ext1:", "ext2:"]).flatmap(
        lambda prefix: _local_name.map(lambda name: prefix + name)), children, min_size=1, max_size=3),
    max_leaves=6)
extensions = st.dictionaries(st.sampled_from(["ext1:", "ext2:"]).flatmap(lambda prefix: _local_name.map(
    lambda name: prefix + name)), extension_values, max_size=3)
sensor_reports = st.lists(st.fixed_dictionaries({"type": st.sampled_from(sorted(MEASUREMENT_TYPES))}, optional={
    "value": st.floats(min_value=-100, max_value=100, allow_nan=False).map(lambda v: round(v, 2)),
    "uom": st.sampled_from(["CEL", "KGM", "A93"]), "time": times, "deviceID": st.just("urn:epc:id:giai:4000001.111"),
    "stringValue": _word, "booleanValue": st.booleans(), "ext1:note": _word}), min_size=1, max_size=3)
sensor_elements = st.lists(st.fixed_dictionaries({"sensorReport": sensor_reports}, optional={
    "sensorMetadata": st.fixed_dictionaries({}, optional={"time": times, "deviceID": st.just("urn:epc:id:giai:4000001.111"),
                                                          "bizRules": st.just("https://example.com/rules/1")}),
    "ext1:extra": _word}), min_size=1, max_size=2)
persistent_dispositions = st.fixed_dictionaries({}, optional={
    "set": st.lists(dispositions, min_size=1, max_size=2, unique=True),
    "unset": st.lists(dispositions, min_size=1, max_size=2, unique=True),
}).filter(bool)
error_declarations = st.fixed_dictionaries({"declarationTime": times}, optional={
    "reason": _vocabulary(ERROR_REASONS),
    "correctiveEventIDs": st.lists(_serial.map(lambda s: f"urn:uuid:00000000-0000-4000-8000-{s:0>12}"), max_size=2, unique=True),
})
_COMMON = {
    "eventID": _serial.map(lambda s: f"urn:uuid:11111111-2222-4333-8444-{s:0>12}"),
    "recordTime": times, "errorDeclaration": error_declarations,
    "certificationInfo": st.just("https://accreditation.example.org/certificate/ABC12345"),
    "bizStep": biz_steps, "disposition": dispositions,
    "readPoint": locations.map(lambda place: {"id": place}), "bizLocation": locations.map(lambda place: {"id": place}),
    "bizTransactionList": biz_transactions, "sourceList": _parties("source"),
    "destinationList": _parties("destination"), "sensorElementList": sensor_elements,
}
_ACTIONS = st.sampled_from(["ADD", "OBSERVE", "DELETE"])
_BY_TYPE = {
    "ObjectEvent": ({"action": _ACTIONS, "epcList": epcs}, {"quantityList": quantity_lists, "ilmd": extensions.filter(bool),
                                                            "persistentDisposition": persistent_dispositions}),
    "AggregationEvent": ({"action": _ACTIONS, "parentID": st.just("urn:epc:id:sscc:0614141.1234567890"), "childEPCs": epcs},
                         {"childQuantityList": quantity_lists}),
    "TransactionEvent": ({"action": _ACTIONS, "bizTransactionList": biz_transactions, "epcList": epcs},
                         {"parentID": st.just("urn:epc:id:sscc:0614141.1234567890"), "quantityList": quantity_lists}),
    "TransformationEvent": ({"inputEPCList": epcs, "outputEPCList": epcs}, {"inputQuantityList": quantity_lists,
                                 "outputQuantityList": quantity_lists, "transformationID": st.just("urn:epc:id:gdti:0614141.12345.400"),
                                 "ilmd": extensions.filter(bool), "persistentDisposition": persistent_dispositions}),
    "AssociationEvent": ({"action": _ACTIONS, "parentID": st.just("urn:epc:id:grai:4012345.55555.987"), "childEPCs": epcs},
                         {"childQuantityList": quantity_lists}),
}
EVENT_TYPES = tuple(_BY_TYPE)


@st.composite
def epcis_events(draw, event_type: str | None = None) -> dict:
    """One event (of ``event_type``, else any of the five) carrying its ``@context``."""
    kind = event_type or draw(st.sampled_from(EVENT_TYPES))
    required, optional = _BY_TYPE[kind]
    optional = {name: values for name, values in {**_COMMON, **optional}.items() if name not in required}
    own = draw(st.fixed_dictionaries(required, optional=optional))
    if own.get("action", "ADD") != "ADD":  # ILMD describes objects as they are created
        own.pop("ilmd", None)
    event = {"@context": CONTEXT, "type": kind, "eventTime": draw(times), "eventTimeZoneOffset": draw(zone_offsets)}
    return {**event, **own, **draw(extensions)}


def epcis_document(events: list[dict]) -> dict:
    """An EPCISDocument holding ``events`` (their shared context on the document)."""
    return {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-01-01T00:00:00.000Z",
            "epcisBody": {"eventList": [{k: v for k, v in event.items() if k != "@context"} for event in events]}}
