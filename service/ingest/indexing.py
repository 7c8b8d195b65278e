"""Normalised search terms of a record, computed once at submission.

Identifiers are indexed in their canonical GS1 Digital Link form and CBV terms as CBV 2.0 URIs,
the same normalisation the event hash uses, so a query for ``urn:epc:id:sgtin:0614141.107346.2017``
finds an event that spelt it ``https://id.gs1.org/01/00614141073467/21/2017`` and vice versa.
"""


import math
import struct
from datetime import UTC, datetime

from service.hashing.identifiers import canonical_identifier
from service.hashing.vocabulary import (
    BIZ_STEPS,
    BIZ_TRANSACTION_TYPES,
    DISPOSITIONS,
    ERROR_REASONS,
    GS1_VOC,
    MEASUREMENT_TYPES,
    SOURCE_DESTINATION_TYPES,
    web_vocabulary,
)
from service.models import TermName

#: sensorReport numbers that are compared per unit of measure (``<field> <uom> <number>`` terms).
SENSOR_NUMBER_FIELDS = ("value", "minValue", "maxValue", "meanValue", "sDev", "percValue")
PERC_RANK = "percRank"  # a rank, without unit
_QUANTITY_LISTS = ((TermName.EPC_CLASS, ("quantityList", "childQuantityList")),
                   (TermName.INPUT_CLASS, ("inputQuantityList",)), (TermName.OUTPUT_CLASS, ("outputQuantityList",)))
#: sensorReport and sensorMetadata fields indexed as given (deviceID: canonical when a GS1 key).
_REPORT_TEXTS = ((TermName.DEVICE_ID, "deviceID"), (TermName.DATA_PROCESSING_METHOD, "dataProcessingMethod"),
                 (TermName.MICROORGANISM, "microorganism"), (TermName.CHEMICAL_SUBSTANCE, "chemicalSubstance"),
                 (TermName.STRING_VALUE, "stringValue"), (TermName.URI_VALUE, "uriValue"))
_METADATA_TEXTS = ((TermName.DEVICE_ID, "deviceID"), (TermName.DATA_PROCESSING_METHOD, "dataProcessingMethod"),
                   (TermName.BIZ_RULES, "bizRules"))


def identifier(value: str) -> str:
    """The canonical form of an EPC, class or location id (unchanged when not a GS1 key)."""
    return canonical_identifier(value) or value


def vocabulary(value: str, terms: dict[str, str]) -> str:
    """A CBV term as its CBV 2.0 URI, whether given short, as a URN or already as the URI."""
    return terms.get(value) or web_vocabulary(value)


def biz_transaction_term(kind: str | None, value: str) -> str:
    """The stored value of a bizTransaction term: its type URI (or empty) and the id."""
    return f"{vocabulary(kind, BIZ_TRANSACTION_TYPES) if kind else ''} {value}"


def source_destination_term(kind: str, value: str) -> str:
    """The stored value of a source or destination term: its CBV type URI and the canonical id."""
    return f"{vocabulary(kind, SOURCE_DESTINATION_TYPES)} {identifier(value)}"


def event_columns(event: dict) -> dict[str, str | None]:
    """The single-valued search columns of an EPCIS event."""
    return {
        "biz_step": vocabulary(event["bizStep"], BIZ_STEPS) if isinstance(event.get("bizStep"), str) else None,
        "disposition": vocabulary(event["disposition"], DISPOSITIONS) if isinstance(event.get("disposition"), str) else None,
        "biz_location": _location(event.get("bizLocation")),
        "read_point": _location(event.get("readPoint")),
    }


def event_terms(event: dict) -> set[tuple[str, str]]:
    """Multi-valued search terms of an EPCIS event."""
    terms: set[tuple[str, str]] = set()
    if isinstance(event.get("eventID"), str):
        terms.add((TermName.EVENT_ID, event["eventID"]))
    if isinstance(event.get("action"), str):
        terms.add((TermName.ACTION, event["action"]))
    for name, field in ((TermName.SOURCE, "source"), (TermName.DESTINATION, "destination")):
        for item in event.get(field + "List") or []:
            if isinstance(item, dict) and isinstance(item.get("type"), str) and isinstance(item.get(field), str):
                terms.add((name, source_destination_term(item["type"], item[field])))
    for name, fields in (
        (TermName.EPC, ("epcList", "childEPCs")),
        (TermName.INPUT, ("inputEPCList",)),
        (TermName.OUTPUT, ("outputEPCList",)),
    ):
        for field in fields:
            terms.update((name, identifier(epc)) for epc in _strings(event.get(field)))
    if isinstance(event.get("parentID"), str):
        terms.add((TermName.PARENT, identifier(event["parentID"])))
    for name, fields in _QUANTITY_LISTS:
        for quantity in (item for field in fields for item in _objects(event.get(field))):
            if isinstance(quantity.get("epcClass"), str):
                terms.add((name, identifier(quantity["epcClass"])))
            if _is_number(quantity.get("quantity")):
                terms.add((TermName.QUANTITY, number_term(quantity["quantity"])))
                if isinstance(quantity.get("uom"), str):
                    terms.add((TermName.QUANTITY_IN, unit_prefix(quantity["uom"]) + number_term(quantity["quantity"])))
    if isinstance(event.get("transformationID"), str):
        terms.add((TermName.TRANSFORMATION_ID, event["transformationID"]))
    persistent = event.get("persistentDisposition")
    if isinstance(persistent, dict):
        for name, field in ((TermName.PERSISTENT_SET, "set"), (TermName.PERSISTENT_UNSET, "unset")):
            terms.update((name, vocabulary(value, DISPOSITIONS)) for value in _strings(persistent.get(field)))
    for element in _objects(event.get("sensorElementList")):
        terms |= _sensor_terms(element)
    for transaction in event.get("bizTransactionList") or []:
        if isinstance(transaction, dict) and isinstance(transaction.get("bizTransaction"), str):
            terms.add((TermName.BIZ_TRANSACTION, biz_transaction_term(transaction.get("type"), transaction["bizTransaction"])))
            terms.add((TermName.CITES, transaction["bizTransaction"]))
    return terms


def _sensor_terms(element: dict) -> set[tuple[str, str]]:
    """Search terms of one sensorElement: its metadata's device, method, rules, time and time span, and
    each report's type, time, device, texts and numbers (:func:`sensor_number_term`)."""
    terms: set[tuple[str, str]] = set()
    metadata = element.get("sensorMetadata") if isinstance(element.get("sensorMetadata"), dict) else {}
    terms.update(_texts(metadata, _METADATA_TEXTS))
    for name, field in ((TermName.SENSOR_TIME, "time"), (TermName.SENSOR_START, "startTime"), (TermName.SENSOR_END, "endTime")):
        moment = _moment(metadata.get(field))
        if moment is not None:
            terms.add((name, time_term(moment)))
    for report in _objects(element.get("sensorReport")):
        moment = _moment(report.get("time"))
        if moment is not None:
            terms.add((TermName.SENSOR_TIME, time_term(moment)))
        terms.update(_texts(report, _REPORT_TEXTS))
        if isinstance(report.get("type"), str):
            terms.add((TermName.SENSOR_TYPE, measurement_type(report["type"])))
        if isinstance(report.get("hexBinaryValue"), str):
            terms.add((TermName.HEX_BINARY_VALUE, report["hexBinaryValue"].upper()))
        if isinstance(report.get("booleanValue"), bool):
            terms.add((TermName.BOOLEAN_VALUE, "true" if report["booleanValue"] else "false"))
        if isinstance(report.get("uom"), str):
            terms.update((TermName.SENSOR_NUMBER, sensor_number_term(field, report["uom"], report[field]))
                         for field in SENSOR_NUMBER_FIELDS if _is_number(report.get(field)))
        if _is_number(report.get(PERC_RANK)):
            terms.add((TermName.SENSOR_NUMBER, sensor_number_term(PERC_RANK, None, report[PERC_RANK])))
    return terms


def measurement_type(value: str) -> str:
    """A sensor measurement type as one spelling: a GS1 type (``Temperature``, ``gs1:Temperature``,
    ``https://gs1.org/voc/Temperature``) as its https://gs1.org/voc/ URI, any other type as given."""
    local = value.removeprefix("gs1:")
    return MEASUREMENT_TYPES.get(local) or (GS1_VOC + local if value.startswith("gs1:") else value)


def number_term(number: float) -> str:
    """A number as a term value whose text order is numeric order: the float64's IEEE-754 bits, the
    sign bit flipped for positives and every bit for negatives, as 16 lower-case hex digits
    (so a comparison becomes an index range; -0.0 is 0.0)."""
    bits = struct.unpack(">Q", struct.pack(">d", float(number) + 0.0))[0]
    return f"{bits ^ 0xFFFF_FFFF_FFFF_FFFF if bits >> 63 else bits | 1 << 63:016x}"


def sensor_number_term(field: str, uom: str | None, number: float) -> str:
    """The stored value of a sensorReport number: the field, its unit (none for percRank) and the
    :func:`number_term`; a query by field and unit is a range under that prefix."""
    return f"{sensor_number_prefix(field, uom)}{number_term(number)}"


def sensor_number_prefix(field: str, uom: str | None) -> str:
    """What precedes the number term of a sensorReport ``field`` given in ``uom`` (none: percRank)."""
    return f"{field} " + (unit_prefix(uom) if uom is not None else "")


def unit_prefix(uom: str) -> str:
    """What precedes a :func:`number_term` given in unit ``uom`` (quantities, sensor numbers)."""
    return f"{uom} "


def time_term(moment: datetime) -> str:
    """A time as a term value: UTC, microseconds, ``Z``; fixed width, so that text order is time order
    (queries compare such terms as text)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def declaration_terms(hash_id: str, declaration: dict, declared_at: datetime) -> set[tuple[str, str]]:
    """Search terms of an error declaration: the event it declares erroneous (by Event Hash ID), when
    (:func:`time_term`), why, and the corrective events."""
    terms = {(TermName.DECLARES, hash_id), (TermName.DECLARED_AT, time_term(declared_at))}
    if isinstance(declaration.get("reason"), str):
        terms.add((TermName.ERROR_REASON, vocabulary(declaration["reason"], ERROR_REASONS)))
    terms.update((TermName.CORRECTIVE_EVENT, event_id) for event_id in _strings(declaration.get("correctiveEventIDs")))
    return terms


def transaction_terms(transaction: dict) -> set[tuple[str, str]]:
    """Search terms of a commercial transaction; a reference is indexed by the id it names, whichever
    party's record that is."""
    terms = {(TermName.SKU, line["sku"]) for line in transaction.get("lines") or [] if isinstance(line.get("sku"), str)}
    terms.update((TermName.PARTY, transaction[role]) for role in ("seller", "buyer") if isinstance(transaction.get(role), str))
    terms.update((TermName.REFERENCE, reference_id(ref)) for ref in transaction.get("references") or []
                 if isinstance(reference_id(ref), str))
    return terms


def reference_id(reference: object) -> object:
    """The id a reference names: the string itself, or the ``id`` of ``{"id": ..., "party": ...}``."""
    return reference.get("id") if isinstance(reference, dict) else reference


def label_terms(label: dict) -> set[tuple[str, str]]:
    """Search terms of a fraud label: the transaction it labels and the lender."""
    return {(TermName.REFERENCE, label["transaction"]), (TermName.PARTY, label["lender"])}


def grant_terms(grant: dict) -> set[tuple[str, str]]:
    """Search terms of a grant (its grantee) or of a revocation (the grant it withdraws)."""
    return {(TermName.GRANTEE, grant["grantee"])} if "grantee" in grant else {(TermName.REFERENCE, grant["grant"])}


def _location(value: object) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return identifier(value["id"])
    return None


def _objects(value: object) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _texts(source: dict, fields: tuple[tuple[str, str], ...]) -> set[tuple[str, str]]:
    return {(name, identifier(source[field]) if name == TermName.DEVICE_ID else source[field])
            for name, field in fields if isinstance(source.get(field), str)}


def _is_number(value: object) -> bool:
    """A finite JSON number (not a boolean, which Python counts as an int)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond a double (refused at capture; a body edited by hand)
        return False


def _moment(value: object) -> datetime | None:
    """A body's timestamp as an aware datetime (None when it is none: the schema checked its format)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: not in years 1 to 9999 in UTC
        return None


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []
