"""The EPCIS query language's parameters: each one parsed, normalised and documented, once.

Semantics follow the EPCIS 2.0 query interface: a parameter's values are alternatives (OR), different
parameters must all hold (AND). Values are separated by ``|``, the standard's ``pipeDelimited`` form, and
by commas, which this API took first, except where a value may hold a comma itself (free text, arbitrary
URIs: ``EQ_transformationID`` and the sensor parameters), where only ``|`` separates. Every
value is normalised exactly as the stored columns and terms were (``service.ingest.indexing``), so a
query may spell a bizStep short, as a URN or as the CBV URI, and an EPC as a URN or any GS1
Digital Link: all find the same events.

MATCH_epc / MATCH_anyEPC accept a trailing ``*`` in two forms that denote "every instance of this
class": an EPC pure-identity pattern (``urn:epc:idpat:sgtin:0614141.107346.*``) and a Digital Link
of a primary key followed by ``/*`` (``https://id.gs1.org/01/10614141073464/*``). Both are
canonicalised to the class's Digital Link and matched as a prefix of the stored canonical ids, an
index range scan. Any other ``*`` (partial serials, partial keys) is refused with 422: a partial
value has no canonical form, so it could not be matched reliably against canonical ids.
The MATCH_*EPCClass parameters take the same patterns; there a pattern also matches the class it
names itself, as a quantity list may name a whole product by that pattern.

Numbers (quantities, sensor values) are compared through their order-preserving terms
(``service.ingest.indexing.number_term``): every comparison is one range, GT x being GE the next float
above x. Sensor numbers are compared in the unit the parameter names (``GT_value_CEL``), never converted.

Timestamps without an offset are taken as UTC; one that does not exist in UTC (year 1 at +01:00)
is refused with 422.

``EVENT_PARAMETERS`` is the one table of the event query's parameters: it parses them here and
documents them in OpenAPI (``GET /v1/events`` publishes it), so the two cannot drift apart.
"""

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from service.errors import InvalidParameter
from service.hashing.epcis import HASH_ID_PREFIX
from service.hashing.vocabulary import BIZ_STEPS, BIZ_TRANSACTION_TYPES, DISPOSITIONS, ERROR_REASONS
from service.ingest.indexing import (
    PERC_RANK,
    SENSOR_NUMBER_FIELDS,
    biz_transaction_term,
    identifier,
    measurement_type,
    number_term,
    sensor_number_prefix,
    source_destination_term,
    time_term,
    unit_prefix,
    vocabulary,
)
from service.models import RecordStatus, TermName
from service.models.record_term import ANY_EPC, ANY_EPC_CLASS
from service.read.pagination import DEFAULT_PER_PAGE, MAX_PER_PAGE, PER_PAGE_FIELD, TOKEN_FIELD
from service.read.queries import (
    EVENT_ORDERS,
    EVENT_TYPES,
    Direction,
    MAX_DESCENDANTS,
    MAX_LOCATION_DEPTH,
    EventQuery,
    TermMatch,
    parameter_status,
    parameter_utc,
)

BIZ_TRANSACTION_PREFIX = "EQ_bizTransaction_"
SOURCE_PREFIX, DESTINATION_PREFIX = "EQ_source_", "EQ_destination_"
COMPARISONS = ("EQ", "GT", "GE", "LT", "LE")
#: ``<comparison>_<field>_<uom>``: a sensorReport number of that field in that unit (EPCIS 2.0 8.2.7.1).
SENSOR_NUMBER_PREFIXES = tuple(f"{comparison}_{field}_" for field in SENSOR_NUMBER_FIELDS for comparison in COMPARISONS)
#: ``<comparison>_quantity_<uom>``: a QuantityElement's quantity given in that unit.
QUANTITY_PREFIXES = tuple(f"{comparison}_quantity_" for comparison in COMPARISONS)
PARAMETER_PREFIXES = (BIZ_TRANSACTION_PREFIX, SOURCE_PREFIX, DESTINATION_PREFIX, *SENSOR_NUMBER_PREFIXES, *QUANTITY_PREFIXES)
ACTIONS = ("ADD", "OBSERVE", "DELETE")
_MAX_VALUES = 100  # alternatives per parameter: keeps IN lists (and query plans) small
_SEPARATORS = re.compile(r"[|,]")  # `|` is the standard's (pipeDelimited); `,` this API's first one
_PIPE = re.compile(r"\|")  # for values that may hold a comma (free text, arbitrary URIs)
_UNIT_NUMBER = re.compile(rf"({'|'.join(COMPARISONS)})_({'|'.join(SENSOR_NUMBER_FIELDS)}|quantity)_([A-Z0-9]{{2,4}})")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*")
_ABOVE_EVERY_NUMBER = "g"  # greater than any number term (hex digits) after the same prefix

# Canonical Digital Link keys whose serial follows the key directly (no "/<AI>/" in between).
_SERIAL_APPENDED = ("/8003/", "/253/", "/255/")


def parse_event_query(params: Mapping[str, str]) -> EventQuery:
    """Validate and normalise EPCIS query parameters; InvalidParameter (422) names the offending one."""
    fields: dict = {}
    terms: list[TermMatch] = []
    for name, raw in params.items():
        if name.startswith(BIZ_TRANSACTION_PREFIX) and len(name) > len(BIZ_TRANSACTION_PREFIX):
            kind = vocabulary(name[len(BIZ_TRANSACTION_PREFIX):], BIZ_TRANSACTION_TYPES)
            values = _values(name, raw)
            terms.append(TermMatch((TermName.BIZ_TRANSACTION,), tuple(biz_transaction_term(kind, v) for v in values)))
            continue
        family = next(((prefix, term) for prefix, term in ((SOURCE_PREFIX, TermName.SOURCE), (DESTINATION_PREFIX, TermName.DESTINATION))
                       if name.startswith(prefix) and len(name) > len(prefix)), None)
        if family is not None:
            kind = name[len(family[0]):]
            terms.append(TermMatch((family[1],), tuple(source_destination_term(kind, v) for v in _values(name, raw))))
            continue
        if name.startswith(SENSOR_NUMBER_PREFIXES + QUANTITY_PREFIXES):
            terms.append(_number_in_unit(name, raw))
            continue
        if name not in EVENT_PARAMETERS:
            raise InvalidParameter(f"unknown query parameter {name!r}", field=name)
        parameter = EVENT_PARAMETERS[name]
        if parameter.target is None:
            terms.append(parameter.parse(name, raw))
        else:
            fields[parameter.target] = parameter.parse(name, raw)
    if "event_count_limit" in fields and "max_event_count" in fields:
        raise InvalidParameter("eventCountLimit and maxEventCount exclude each other", field="maxEventCount")
    if "event_count_limit" in fields:  # one page of at most that many events
        fields["per_page"] = fields["event_count_limit"]
    return EventQuery(terms=tuple(sorted(terms, key=repr)), **fields)  # sorted: parameter order is no part of the query


def _values(name: str, raw: str, separators: re.Pattern = _SEPARATORS) -> list[str]:
    values = [value.strip() for value in separators.split(raw)]
    if not raw.strip() or any(not value for value in values):
        raise InvalidParameter(f"{name}: empty value", field=name)
    if len(values) > _MAX_VALUES:
        raise InvalidParameter(f"{name}: at most {_MAX_VALUES} values", field=name)
    return list(dict.fromkeys(values))


def _vocabulary_list(terms: dict[str, str]):
    return lambda name, raw: tuple(vocabulary(value, terms) for value in _values(name, raw))


def _identifier_list(name: str, raw: str) -> tuple[str, ...]:
    return tuple(identifier(value) for value in _values(name, raw))


def _epc_match(names: Iterable[str], *, classes: bool = False):
    """MATCH_ parameters; a class pattern (``classes``) also matches the class it names itself, as a
    quantity list may name a whole product (``urn:epc:idpat:sgtin:4012345.066666.*``)."""
    def parse(name: str, raw: str) -> TermMatch:
        values, prefixes = [], []
        for value in _values(name, raw):
            if "*" in value:
                prefix = _wildcard_prefix(name, value)
                prefixes.append(prefix)
                if classes and prefix.endswith("/"):
                    values.append(prefix[:-1])
            else:
                values.append(identifier(value))
        return TermMatch(tuple(names), tuple(values), tuple(prefixes))

    return parse


def _wildcard_prefix(name: str, pattern: str) -> str:
    """The canonical-id prefix every instance matching ``pattern`` starts with (see module docstring)."""
    if pattern.startswith("urn:epc:idpat:"):
        key = identifier(pattern)
    elif pattern.endswith("/*") and "*" not in pattern[:-1]:
        key = identifier(pattern[:-2])
    else:
        key = pattern
    if key == pattern or not key.startswith("https://") or "*" in key:
        raise InvalidParameter(
            f"{name}: unsupported wildcard {pattern!r}: use an EPC pattern URN (urn:epc:idpat:...) "
            "or a Digital Link primary key followed by '/*'",
            field=name,
        )
    return key if any(marker in key for marker in _SERIAL_APPENDED) else key + "/"


def _strings(name: str, raw: str) -> tuple[str, ...]:
    return tuple(_values(name, raw))


def _actions(name: str, raw: str) -> TermMatch:
    values = _values(name, raw)
    unknown = [value for value in values if value not in ACTIONS]
    if unknown:
        raise InvalidParameter(f"{name}: unknown action {unknown[0]!r} (one of {', '.join(ACTIONS)})", field=name)
    return TermMatch((TermName.ACTION,), tuple(values))


def _declares_error(name: str, raw: str) -> TermMatch:
    """Error declarations (records whose event carries ``errorDeclaration``): whatever the value."""
    return TermMatch((TermName.DECLARES,), prefixes=(HASH_ID_PREFIX,))


def _declared_at_least(name: str, raw: str) -> TermMatch:
    return TermMatch((TermName.DECLARED_AT,), at_least=time_term(_timestamp(name, raw)))


def _declared_before(name: str, raw: str) -> TermMatch:
    return TermMatch((TermName.DECLARED_AT,), below=time_term(_timestamp(name, raw)))


def _error_reasons(name: str, raw: str) -> TermMatch:
    return TermMatch((TermName.ERROR_REASON,), tuple(vocabulary(value, ERROR_REASONS) for value in _values(name, raw)))


def _corrective_events(name: str, raw: str) -> TermMatch:
    return TermMatch((TermName.CORRECTIVE_EVENT,), tuple(_values(name, raw)))


def _event_types(name: str, raw: str) -> tuple[str, ...]:
    values = _values(name, raw)
    unknown = [value for value in values if value not in EVENT_TYPES]
    if unknown:
        raise InvalidParameter(f"{name}: unknown event type {unknown[0]!r} (one of {', '.join(EVENT_TYPES)})", field=name)
    return tuple(values)


def _statuses(name: str, raw: str) -> tuple[RecordStatus, ...]:
    return tuple(parameter_status(name, value) for value in _values(name, raw))


def _timestamp(name: str, raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(f"{name}: not an ISO 8601 timestamp: {raw!r}", field=name) from None
    return parameter_utc(name, moment)


def _order_by(name: str, raw: str) -> str:
    if raw not in EVENT_ORDERS:
        raise InvalidParameter(f"{name}: eventTime or recordTime, not {raw!r}", field=name)
    return raw


def _direction(name: str, raw: str) -> Direction:
    try:
        return Direction(raw.upper())
    except ValueError:
        raise InvalidParameter(f"{name}: ASC or DESC", field=name) from None


def _per_page(name: str, raw: str) -> int:
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_PER_PAGE)) and 1 <= int(text) <= MAX_PER_PAGE):
        raise InvalidParameter(f"{name}: an integer between 1 and {MAX_PER_PAGE}, not {raw!r}", field=name)
    return int(text)


def _count(name: str, raw: str) -> int:
    return _per_page(name, raw)


def _page_token(name: str, raw: str) -> str:
    return raw


def _texts(term: TermName, normalise: Callable[[str], str] = str, separators: re.Pattern = _PIPE):
    """Parameters matching a term's value among the given values, each normalised as the stored terms were."""
    return lambda name, raw: TermMatch((term,), tuple(normalise(value) for value in _values(name, raw, separators)))


def _hex_binary(value: str) -> str:
    if not _HEX.fullmatch(value):
        raise ValueError(value)
    return value.upper()


def _hex_binaries(name: str, raw: str) -> TermMatch:
    try:
        return _texts(TermName.HEX_BINARY_VALUE, _hex_binary)(name, raw)
    except ValueError as error:
        raise InvalidParameter(f"{name}: {error.args[0]!r} is not hexBinary (pairs of hex digits)", field=name) from None


def _boolean(name: str, raw: str) -> TermMatch:
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise InvalidParameter(f"{name}: true or false, not {raw!r}", field=name)
    return TermMatch((TermName.BOOLEAN_VALUE,), (value,))


def _time_bound(term: TermName, *, lower: bool):
    """GE_ (``lower``) or LT_ a time term."""
    def parse(name: str, raw: str) -> TermMatch:
        moment = time_term(_timestamp(name, raw))
        return TermMatch((term,), at_least=moment) if lower else TermMatch((term,), below=moment)

    return parse


def _number(name: str, raw: str) -> float:
    text = raw.strip()
    number = float(text) if _NUMBER.fullmatch(text) else math.nan
    if not math.isfinite(number):
        raise InvalidParameter(f"{name}: not a finite number: {raw!r}", field=name)
    return number


def _compared(term: TermName, comparison: str, name: str, raw: str, prefix: str = "") -> TermMatch:
    """Terms ``prefix`` + :func:`number_term` compared with the parameter's number (EQ: one of its numbers).

    Number terms order as their numbers, so every comparison is one range: GT x is GE the next float
    above x, LE x is LT it."""
    if comparison == "EQ":
        return TermMatch((term,), tuple(prefix + number_term(_number(name, value)) for value in _values(name, raw)))
    number = _number(name, raw)
    bound = prefix + number_term(math.nextafter(number, math.inf) if comparison in ("GT", "LE") else number)
    if comparison in ("GT", "GE"):
        return TermMatch((term,), at_least=bound, below=prefix + _ABOVE_EVERY_NUMBER)
    return TermMatch((term,), at_least=prefix, below=bound)


def _quantity(comparison: str):
    return lambda name, raw: _compared(TermName.QUANTITY, comparison, name, raw)


def _perc_rank(comparison: str):
    return lambda name, raw: _compared(TermName.SENSOR_NUMBER, comparison, name, raw, sensor_number_prefix(PERC_RANK, None))


def _number_in_unit(name: str, raw: str) -> TermMatch:
    """``<comparison>_<field>_<uom>``: sensorReport numbers of that field, or quantities, given in that unit."""
    match = _UNIT_NUMBER.fullmatch(name)
    if match is None:
        raise InvalidParameter(f"{name}: the unit after {name.rsplit('_', 1)[0]}_ is a UN/ECE Rec 20 code "
                               "(2 to 4 upper-case letters or digits)", field=name)
    comparison, number_field, uom = match.groups()
    if number_field == "quantity":
        return _compared(TermName.QUANTITY_IN, comparison, name, raw, unit_prefix(uom))
    return _compared(TermName.SENSOR_NUMBER, comparison, name, raw, sensor_number_prefix(number_field, uom))


@dataclass(frozen=True)
class EventParameter:
    """One query parameter of ``GET /v1/events``: how it is parsed, and how it is documented."""

    target: str | None  # the EventQuery field it sets, or None for a term match
    parse: Callable[[str, str], object]
    description: str
    examples: tuple[str, ...] = ()
    schema: Mapping[str, object] = field(default_factory=lambda: {"type": "string"})


_WITHIN = f" At most {MAX_LOCATION_DEPTH} levels down; more than {MAX_DESCENDANTS} locations below is a 413."
_LIST = " Several values, separated by `|` (the standard's pipeDelimited form) or by commas, are alternatives (OR)."
_PIPE_LIST = (" Several values, separated by `|` (the standard's pipeDelimited form), are alternatives (OR); a comma"
              " belongs to the value, as these values are free text or URIs that may hold one.")
_NUMBER_SCHEMA = {"type": "number"}
_CLASS = (
    " An EPC class URN or GS1 Digital Link; a pattern (`urn:epc:idpat:sgtin:4012345.012345.*`, or a Digital Link"
    " primary key followed by `/*`) matches that product and every batch of it."
)
_QUANTITY = ("Events with a `quantity` of a QuantityElement (any quantity list, any unit; `<EQ|GT|GE|LT|LE>_quantity_<uom>`"
             " compares only quantities given in that unit) ")
_SENSOR = "Events with a sensorElement whose "
_TIME = " ISO 8601; without an offset the time is taken as UTC."
_EPC = (
    " An EPC URN or GS1 Digital Link; a pure-identity pattern (`urn:epc:idpat:sgtin:0614141.107346.*`) or a"
    " Digital Link primary key followed by `/*` matches every instance of that class."
)
EVENT_PARAMETERS: dict[str, EventParameter] = {
    "eventType": EventParameter("event_types", _event_types, f"Event types ({', '.join(EVENT_TYPES)})." + _LIST,
                                ("ObjectEvent", "ObjectEvent,AggregationEvent")),
    "EQ_bizStep": EventParameter("biz_steps", _vocabulary_list(BIZ_STEPS),
                                 "CBV business step: short name, URN or CBV URI." + _LIST,
                                 ("shipping", "urn:epcglobal:cbv:bizstep:receiving", "shipping,receiving")),
    "EQ_disposition": EventParameter("dispositions", _vocabulary_list(DISPOSITIONS),
                                     "CBV disposition: short name, URN or CBV URI." + _LIST, ("in_transit",)),
    "GE_eventTime": EventParameter("since", _timestamp, "Events at or after this time." + _TIME,
                                   ("2026-03-01T00:00:00Z",), {"type": "string", "format": "date-time"}),
    "LT_eventTime": EventParameter("before", _timestamp, "Events before this time." + _TIME,
                                   ("2026-04-01T00:00:00+02:00",), {"type": "string", "format": "date-time"}),
    "MATCH_epc": EventParameter(None, _epc_match((TermName.EPC,)),
                                "Events naming the EPC in `epcList` or `childEPCs`." + _EPC + _LIST,
                                ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/*")),
    "MATCH_anyEPC": EventParameter(None, _epc_match(ANY_EPC),
                                   "Events naming the EPC anywhere: `epcList`, `childEPCs`, `parentID`, "
                                   "`inputEPCList`, `outputEPCList`." + _EPC + _LIST,
                                   ("urn:epc:idpat:sgtin:0614141.107346.*",)),
    "GE_recordTime": EventParameter("recorded_since", _timestamp, "Events stored at or after this time." + _TIME,
                                    ("2026-03-01T00:00:00Z",), {"type": "string", "format": "date-time"}),
    "LT_recordTime": EventParameter("recorded_before", _timestamp, "Events stored before this time." + _TIME,
                                    ("2026-04-01T00:00:00Z",), {"type": "string", "format": "date-time"}),
    "MATCH_parentID": EventParameter(None, _epc_match((TermName.PARENT,)),
                                     "Events whose `parentID` is the EPC." + _EPC + _LIST, ("urn:epc:id:sscc:0614141.1234567890",)),
    "MATCH_inputEPC": EventParameter(None, _epc_match((TermName.INPUT,)),
                                     "Transformation events naming the EPC in `inputEPCList`." + _EPC + _LIST,
                                     ("urn:epc:id:sgtin:4012345.011122.25",)),
    "MATCH_outputEPC": EventParameter(None, _epc_match((TermName.OUTPUT,)),
                                      "Transformation events naming the EPC in `outputEPCList`." + _EPC + _LIST,
                                      ("urn:epc:id:sgtin:4012345.077889.25",)),
    "MATCH_epcClass": EventParameter(None, _epc_match((TermName.EPC_CLASS,), classes=True),
                                     "Events naming the class in `quantityList` or `childQuantityList`." + _CLASS + _LIST,
                                     ("urn:epc:class:lgtin:4012345.012345.998877", "urn:epc:idpat:sgtin:4012345.012345.*")),
    "MATCH_inputEPCClass": EventParameter(None, _epc_match((TermName.INPUT_CLASS,), classes=True),
                                          "Transformation events naming the class in `inputQuantityList`." + _CLASS + _LIST,
                                          ("urn:epc:class:lgtin:4012345.011111.4444",)),
    "MATCH_outputEPCClass": EventParameter(None, _epc_match((TermName.OUTPUT_CLASS,), classes=True),
                                           "Transformation events naming the class in `outputQuantityList`." + _CLASS + _LIST,
                                           ("urn:epc:class:lgtin:4012345.011111.4444",)),
    "MATCH_anyEPCClass": EventParameter(None, _epc_match(ANY_EPC_CLASS, classes=True),
                                        "Events naming the class in any quantity list (`quantityList`, `childQuantityList`, "
                                        "`inputQuantityList`, `outputQuantityList`)." + _CLASS + _LIST,
                                        ("urn:epc:class:lgtin:4012345.012345.998877",)),
    "EQ_quantity": EventParameter(None, _quantity("EQ"), _QUANTITY + "equal to the number.", ("200",), _NUMBER_SCHEMA),
    "GT_quantity": EventParameter(None, _quantity("GT"), _QUANTITY + "greater than the number.", ("10",), _NUMBER_SCHEMA),
    "GE_quantity": EventParameter(None, _quantity("GE"), _QUANTITY + "at least the number.", ("10",), _NUMBER_SCHEMA),
    "LT_quantity": EventParameter(None, _quantity("LT"), _QUANTITY + "less than the number.", ("2.5",), _NUMBER_SCHEMA),
    "LE_quantity": EventParameter(None, _quantity("LE"), _QUANTITY + "at most the number.", ("2.5",), _NUMBER_SCHEMA),
    "EQ_transformationID": EventParameter(None, _texts(TermName.TRANSFORMATION_ID),
                                          "Transformation events with this `transformationID`." + _PIPE_LIST,
                                          ("urn:epc:id:gdti:0614141.12345.400",)),
    "EQ_persistentDisposition_set": EventParameter(None, _texts(TermName.PERSISTENT_SET, lambda v: vocabulary(v, DISPOSITIONS), _SEPARATORS),
                                                   "Events whose `persistentDisposition` sets this disposition: CBV short name, "
                                                   "URN or CBV URI." + _LIST, ("completeness_verified",)),
    "EQ_persistentDisposition_unset": EventParameter(None, _texts(TermName.PERSISTENT_UNSET, lambda v: vocabulary(v, DISPOSITIONS), _SEPARATORS),
                                                     "Events whose `persistentDisposition` unsets this disposition: CBV short "
                                                     "name, URN or CBV URI." + _LIST, ("completeness_inferred",)),
    "EQ_type": EventParameter(None, _texts(TermName.SENSOR_TYPE, measurement_type),
                              _SENSOR + "sensorReport has this measurement `type`: a GS1 type as a bare word (`Temperature`), "
                              "`gs1:Temperature` or `https://gs1.org/voc/Temperature`, any other as its URI." + _PIPE_LIST,
                              ("Temperature", "Temperature|RelativeHumidity")),
    "EQ_deviceID": EventParameter(None, _texts(TermName.DEVICE_ID, identifier),
                                  _SENSOR + "sensorMetadata or sensorReport has this `deviceID` (a GS1 key as URN or Digital "
                                  "Link)." + _PIPE_LIST, ("urn:epc:id:giai:4000001.111",)),
    "EQ_dataProcessingMethod": EventParameter(None, _texts(TermName.DATA_PROCESSING_METHOD),
                                              _SENSOR + "sensorMetadata or sensorReport has this `dataProcessingMethod`." + _PIPE_LIST,
                                              ("https://example.com/253/4012345000054987",)),
    "EQ_bizRules": EventParameter(None, _texts(TermName.BIZ_RULES), _SENSOR + "sensorMetadata has these `bizRules`." + _PIPE_LIST,
                                  ("https://example.com/253/4012345000054987",)),
    "EQ_microorganism": EventParameter(None, _texts(TermName.MICROORGANISM),
                                       _SENSOR + "sensorReport names this `microorganism`." + _PIPE_LIST,
                                       ("https://www.ncbi.nlm.nih.gov/taxonomy/1126011",)),
    "EQ_chemicalSubstance": EventParameter(None, _texts(TermName.CHEMICAL_SUBSTANCE),
                                           _SENSOR + "sensorReport names this `chemicalSubstance`." + _PIPE_LIST,
                                           ("https://identifiers.org/inchikey:CZMRCDWAGMRECN-UGDNZRGBSA-N",)),
    "EQ_stringValue": EventParameter(None, _texts(TermName.STRING_VALUE),
                                     _SENSOR + "sensorReport has this `stringValue` (exactly)." + _PIPE_LIST, ("SomeString",)),
    "EQ_hexBinaryValue": EventParameter(None, _hex_binaries,
                                        _SENSOR + "sensorReport has this `hexBinaryValue` (hex digits in either case)." + _PIPE_LIST,
                                        ("f0f0f0",)),
    "EQ_uriValue": EventParameter(None, _texts(TermName.URI_VALUE), _SENSOR + "sensorReport has this `uriValue`." + _PIPE_LIST,
                                  ("https://id.gs1.org/8004/4000001111",)),
    "EQ_booleanValue": EventParameter(None, _boolean, _SENSOR + "sensorReport has this `booleanValue`: `true` or `false`.",
                                      ("true",), {"type": "boolean"}),
    "GE_time": EventParameter(None, _time_bound(TermName.SENSOR_TIME, lower=True),
                              _SENSOR + "sensorMetadata or sensorReport `time` is at or after this time." + _TIME,
                              ("2019-04-02T12:00:00Z",), {"type": "string", "format": "date-time"}),
    "LT_time": EventParameter(None, _time_bound(TermName.SENSOR_TIME, lower=False),
                              _SENSOR + "sensorMetadata or sensorReport `time` is before this time." + _TIME,
                              ("2019-04-03T00:00:00Z",), {"type": "string", "format": "date-time"}),
    "GE_startTime": EventParameter(None, _time_bound(TermName.SENSOR_START, lower=True),
                                   _SENSOR + "sensorMetadata `startTime` is at or after this time." + _TIME,
                                   ("2019-04-02T12:00:00Z",), {"type": "string", "format": "date-time"}),
    "LT_startTime": EventParameter(None, _time_bound(TermName.SENSOR_START, lower=False),
                                   _SENSOR + "sensorMetadata `startTime` is before this time." + _TIME,
                                   ("2019-04-03T00:00:00Z",), {"type": "string", "format": "date-time"}),
    "GE_endTime": EventParameter(None, _time_bound(TermName.SENSOR_END, lower=True),
                                 _SENSOR + "sensorMetadata `endTime` is at or after this time." + _TIME,
                                 ("2019-04-02T12:00:00Z",), {"type": "string", "format": "date-time"}),
    "LT_endTime": EventParameter(None, _time_bound(TermName.SENSOR_END, lower=False),
                                 _SENSOR + "sensorMetadata `endTime` is before this time." + _TIME,
                                 ("2019-04-03T00:00:00Z",), {"type": "string", "format": "date-time"}),
    **{f"{comparison}_percRank": EventParameter(None, _perc_rank(comparison),
                                                f"{_SENSOR}sensorReport `percRank` is {wording} the number.", ("50",), _NUMBER_SCHEMA)
       for comparison, wording in (("GT", "greater than"), ("GE", "at least"), ("LT", "less than"), ("LE", "at most"))},
    "EQ_bizLocation": EventParameter("biz_locations", _identifier_list,
                                     "Business location: SGLN URN or GS1 Digital Link." + _LIST,
                                     ("urn:epc:id:sgln:0614141.00888.0",)),
    "EQ_readPoint": EventParameter("read_points", _identifier_list, "Read point: SGLN URN or GS1 Digital Link." + _LIST,
                                   ("urn:epc:id:sgln:0614141.00777.0",)),
    "WD_bizLocation": EventParameter("biz_locations_within", _identifier_list,
                                     "Business location or any location below it (the `children` of BusinessLocation "
                                     "elements in captured master data of parties whose events you may read)." + _WITHIN + _LIST,
                                     ("urn:epc:id:sgln:0614141.00888.0",)),
    "WD_readPoint": EventParameter("read_points_within", _identifier_list,
                                   "Read point or any read point below it (the `children` of ReadPoint elements in captured "
                                   "master data of parties whose events you may read)." + _WITHIN + _LIST,
                                   ("urn:epc:id:sgln:0614141.00777.0",)),
    "EQ_action": EventParameter(None, _actions, "The event's `action`: ADD, OBSERVE or DELETE." + _LIST, ("OBSERVE",)),
    "EQ_eventID": EventParameter("event_ids", _strings,
                                 "Events by `eventID` as captured, or by CBV 2.0 event hash ID (the ID of an event "
                                 "captured without one)." + _LIST, ("ni:///sha-256;df7bb3c352fef055578554f09f5e2aa41782150ced7bd0b8af24dd3ccb30ba69?ver=CBV2.0",)),
    "EXISTS_errorDeclaration": EventParameter(None, _declares_error,
                                              "Only error declarations (events carrying `errorDeclaration`); the value is ignored.", ("",)),
    "GE_errorDeclarationTime": EventParameter(None, _declared_at_least, "Error declarations declared at or after this time." + _TIME,
                                              ("2026-03-01T00:00:00Z",), {"type": "string", "format": "date-time"}),
    "LT_errorDeclarationTime": EventParameter(None, _declared_before, "Error declarations declared before this time." + _TIME,
                                              ("2026-04-01T00:00:00Z",), {"type": "string", "format": "date-time"}),
    "EQ_errorReason": EventParameter(None, _error_reasons, "Error declarations for this reason: CBV short name, URN or URI." + _LIST,
                                     ("did_not_occur", "urn:epcglobal:cbv:er:incorrect_data")),
    "EQ_correctiveEventID": EventParameter(None, _corrective_events,
                                           "Error declarations naming this corrective event ID." + _LIST, ("urn:uuid:1",)),
    "status": EventParameter("statuses", _statuses, "Anchoring status: `anchored` or `pending`." + _LIST,
                             ("anchored",)),
    "orderBy": EventParameter("order_by", _order_by, "Sort key: `eventTime` or `recordTime` (ties broken by record id).",
                              ("eventTime", "recordTime"), {"type": "string", "enum": ["eventTime", "recordTime"], "default": "eventTime"}),
    "orderDirection": EventParameter("direction", _direction, "`ASC` (oldest first, the default) or `DESC`.",
                                     ("DESC",), {"type": "string", "enum": ["ASC", "DESC"], "default": "ASC"}),
    "eventCountLimit": EventParameter("event_count_limit", _count,
                                      f"At most this many events (1 to {MAX_PER_PAGE}), in one page; excludes `maxEventCount`.",
                                      ("10",), {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}),
    "maxEventCount": EventParameter("max_event_count", _count,
                                    f"Refuse (413) a query matching more than this many events (1 to {MAX_PER_PAGE}).",
                                    ("1000",), {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}),
    PER_PAGE_FIELD: EventParameter("per_page", _per_page, f"Events per page, 1 to {MAX_PER_PAGE}.", ("100",),
                                   {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE}),
    TOKEN_FIELD: EventParameter("page_token", _page_token,
                                "The `nextPageToken` of the previous page, unchanged, with the same filters; "
                                "absent for the first page."),
}
"""Every parameter ``parse_event_query`` knows, besides the families of ``PARAMETER_PREFIXES``
(``EQ_bizTransaction_<type>``, ``EQ_source_<type>``, ``EQ_destination_<type>``, and the sensorReport numbers
``<EQ|GT|GE|LT|LE>_<value|minValue|maxValue|meanValue|sDev|percValue>_<uom>`` and the quantities
``<EQ|GT|GE|LT|LE>_quantity_<uom>``, compared in that unit only: no unit is converted)."""
