"""Events are found by their classes per role, quantities, transformationID, persistent dispositions
and sensor data: ``epc_class`` now names only ``quantityList``/``childQuantityList`` classes, beside
``input_class`` and ``output_class``; ``quantity``, ``quantity_in``, ``transformation_id``, ``persistent_set``,
``persistent_unset`` and the sensor terms are new (``service.ingest.indexing.event_terms`` derives them
from new events). This derives them for the stored events, as indexing derives them at this revision
(a migration keeps its own copy: it must not change when indexing does later), so that the integrity
check, which derives every term from the body, agrees.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import json
import math
import struct
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from service.hashing.identifiers import canonical_identifier
from service.hashing.vocabulary import DISPOSITIONS, GS1_VOC, MEASUREMENT_TYPES, web_vocabulary

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000
_MAX_VALUE = 512  # record_term.value; longer values (refused at capture since) cannot be terms
_QUANTITY_LISTS = (("epc_class", ("quantityList", "childQuantityList")), ("input_class", ("inputQuantityList",)),
                   ("output_class", ("outputQuantityList",)))
_REPORT_TEXTS = (("device_id", "deviceID"), ("data_processing_method", "dataProcessingMethod"),
                 ("microorganism", "microorganism"), ("chemical_substance", "chemicalSubstance"),
                 ("string_value", "stringValue"), ("uri_value", "uriValue"))
_METADATA_TEXTS = (("device_id", "deviceID"), ("data_processing_method", "dataProcessingMethod"), ("biz_rules", "bizRules"))
_NUMBER_FIELDS = ("value", "minValue", "maxValue", "meanValue", "sDev", "percValue")
_NAMES = ("epc_class", "input_class", "output_class", "quantity", "quantity_in", "transformation_id", "persistent_set", "persistent_unset",
          "sensor_type", "device_id", "data_processing_method", "biz_rules", "microorganism", "chemical_substance",
          "string_value", "hex_binary_value", "uri_value", "boolean_value", "sensor_time", "sensor_start", "sensor_end", "sensor_number")


def upgrade() -> None:
    connection = op.get_bind()
    names = sa.bindparam("names", expanding=True)
    ids = sa.bindparam("ids", expanding=True)
    last = 0
    while True:
        rows = connection.execute(
            sa.text("SELECT id, body FROM record WHERE kind = 'EPCIS_EVENT' AND id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": _BATCH},
        ).all()
        if not rows:
            return
        connection.execute(sa.text("DELETE FROM record_term WHERE name IN :names AND record_id IN :ids").bindparams(names, ids),
                           {"names": list(_NAMES), "ids": [record_id for record_id, _ in rows]})
        terms = [{"record_id": record_id, "name": name, "value": value} for record_id, body in rows
                 for name, value in _new_terms(body) if len(value) <= _MAX_VALUE]
        if terms:
            connection.execute(
                sa.text("INSERT INTO record_term (name, value, record_id) VALUES (:name, :value, :record_id)"), terms
            )
        last = rows[-1][0]


def downgrade() -> None:
    """Back to one ``epc_class`` term for the classes of every quantity list, and none of the new terms."""
    op.execute("INSERT INTO record_term (name, value, record_id) SELECT DISTINCT 'epc_class', t.value, t.record_id "
               "FROM record_term t WHERE t.name IN ('input_class', 'output_class') AND NOT EXISTS (SELECT 1 FROM record_term u "
               "WHERE u.name = 'epc_class' AND u.value = t.value AND u.record_id = t.record_id)")
    op.execute("DELETE FROM record_term WHERE name IN (" + ", ".join(f"'{name}'" for name in _NAMES[1:]) + ")")


def _new_terms(text: str) -> set[tuple[str, str]]:
    """The terms of ``_NAMES`` that indexing derives from the body (none when it no longer parses)."""
    try:
        event = json.loads(text)
    except ValueError:
        return set()
    if not isinstance(event, dict):
        return set()
    terms: set[tuple[str, str]] = set()
    for name, fields in _QUANTITY_LISTS:
        for quantity in (item for field in fields for item in _objects(event.get(field))):
            if isinstance(quantity.get("epcClass"), str):
                terms.add((name, _identifier(quantity["epcClass"])))
            if _is_number(quantity.get("quantity")):
                terms.add(("quantity", _number(quantity["quantity"])))
                if isinstance(quantity.get("uom"), str):
                    terms.add(("quantity_in", f"{quantity['uom']} {_number(quantity['quantity'])}"))
    if isinstance(event.get("transformationID"), str):
        terms.add(("transformation_id", event["transformationID"]))
    persistent = event.get("persistentDisposition")
    if isinstance(persistent, dict):
        for name, field in (("persistent_set", "set"), ("persistent_unset", "unset")):
            values = persistent.get(field)
            terms.update((name, DISPOSITIONS.get(value) or web_vocabulary(value))
                         for value in (values if isinstance(values, list) else []) if isinstance(value, str))
    for element in _objects(event.get("sensorElementList")):
        terms |= _sensor_terms(element)
    return terms


def _sensor_terms(element: dict) -> set[tuple[str, str]]:
    terms: set[tuple[str, str]] = set()
    metadata = element.get("sensorMetadata") if isinstance(element.get("sensorMetadata"), dict) else {}
    terms.update(_texts(metadata, _METADATA_TEXTS))
    for name, field in (("sensor_time", "time"), ("sensor_start", "startTime"), ("sensor_end", "endTime")):
        moment = _moment(metadata.get(field))
        if moment is not None:
            terms.add((name, _time(moment)))
    for report in _objects(element.get("sensorReport")):
        moment = _moment(report.get("time"))
        if moment is not None:
            terms.add(("sensor_time", _time(moment)))
        terms.update(_texts(report, _REPORT_TEXTS))
        if isinstance(report.get("type"), str):
            local = report["type"].removeprefix("gs1:")
            terms.add(("sensor_type", MEASUREMENT_TYPES.get(local) or (GS1_VOC + local if report["type"].startswith("gs1:") else report["type"])))
        if isinstance(report.get("hexBinaryValue"), str):
            terms.add(("hex_binary_value", report["hexBinaryValue"].upper()))
        if isinstance(report.get("booleanValue"), bool):
            terms.add(("boolean_value", "true" if report["booleanValue"] else "false"))
        if isinstance(report.get("uom"), str):
            terms.update(("sensor_number", f"{field} {report['uom']} {_number(report[field])}")
                         for field in _NUMBER_FIELDS if _is_number(report.get(field)))
        if _is_number(report.get("percRank")):
            terms.add(("sensor_number", f"percRank {_number(report['percRank'])}"))
    return terms


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def _identifier(value: str) -> str:
    return canonical_identifier(value) or value


def _texts(source: dict, fields: tuple[tuple[str, str], ...]) -> set[tuple[str, str]]:
    return {(name, _identifier(source[field]) if name == "device_id" else source[field])
            for name, field in fields if isinstance(source.get(field), str)}


def _number(number: float) -> str:
    bits = struct.unpack(">Q", struct.pack(">d", float(number) + 0.0))[0]
    return f"{bits ^ 0xFFFF_FFFF_FFFF_FFFF if bits >> 63 else bits | 1 << 63:016x}"


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond a double (refused at capture; a body edited by hand)
        return False


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: not in years 1 to 9999 in UTC
        return None


def _objects(value: object) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
