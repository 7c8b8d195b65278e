"""What a record can be found by: one row per (name, value) it mentions.

EPCIS queries (MATCH_epc, MATCH_anyEPC, EQ_bizTransaction_<type>), provenance walks and
transaction filters (sku, party) all look records up through this one narrow, indexed table,
so each stays an index scan at millions of records.
"""

from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel


class TermName(StrEnum):
    """Kinds of search terms."""

    EPC = "epc"  # epcList and childEPCs: the items an event is about
    PARENT = "parent"  # parentID of aggregation and association events
    INPUT = "input"  # inputEPCList of transformation events
    OUTPUT = "output"  # outputEPCList of transformation events
    EPC_CLASS = "epc_class"  # epcClass of quantityList and childQuantityList
    INPUT_CLASS = "input_class"  # epcClass of inputQuantityList
    OUTPUT_CLASS = "output_class"  # epcClass of outputQuantityList
    QUANTITY = "quantity"  # quantity of any QuantityElement, as an order-preserving number term
    QUANTITY_IN = "quantity_in"  # "<uom> <number term>" of a QuantityElement that gives its uom
    TRANSFORMATION_ID = "transformation_id"
    PERSISTENT_SET = "persistent_set"  # persistentDisposition.set, as CBV 2.0 URIs
    PERSISTENT_UNSET = "persistent_unset"  # persistentDisposition.unset, as CBV 2.0 URIs
    BIZ_TRANSACTION = "biz_transaction"  # "<type URI> <id>"; type "" when the event gives none
    EVENT_ID = "event_id"  # the eventID an event was captured with (its hash ID, the business id, is a column)
    ACTION = "action"  # ADD, OBSERVE or DELETE
    SOURCE = "source"  # "<source type URI> <canonical id>"
    DESTINATION = "destination"  # "<destination type URI> <canonical id>"
    CITES = "cites"  # the id of any bizTransaction an event cites, whatever its type
    SKU = "sku"
    PARTY = "party"  # seller or buyer of a transaction
    REFERENCE = "reference"  # ids a transaction references, the transaction a label labels, the grant a revocation withdraws
    GRANTEE = "grantee"  # the party a grant shares its owner's records with
    DECLARES = "declares"  # an error declaration: the Event Hash ID of the event it declares erroneous
    DECLARED_AT = "declared_at"  # an error declaration's declarationTime, UTC, fixed width (orders as text)
    ERROR_REASON = "error_reason"  # an error declaration's reason, as a CBV 2.0 URI
    CORRECTIVE_EVENT = "corrective_event"  # each of an error declaration's correctiveEventIDs, as given
    SENSOR_TYPE = "sensor_type"  # a sensorReport's measurement type (GS1 types as https://gs1.org/voc/ URIs)
    DEVICE_ID = "device_id"  # deviceID of sensorMetadata or sensorReport, canonical when a GS1 key
    DATA_PROCESSING_METHOD = "data_processing_method"  # of sensorMetadata or sensorReport
    BIZ_RULES = "biz_rules"  # of sensorMetadata
    MICROORGANISM = "microorganism"  # the sensorReport fields below, as given (hexBinaryValue upper case)
    CHEMICAL_SUBSTANCE = "chemical_substance"
    STRING_VALUE = "string_value"
    HEX_BINARY_VALUE = "hex_binary_value"
    URI_VALUE = "uri_value"
    BOOLEAN_VALUE = "boolean_value"  # "true" or "false"
    SENSOR_TIME = "sensor_time"  # time of sensorMetadata or sensorReport, as a time term
    SENSOR_START = "sensor_start"  # sensorMetadata startTime, as a time term
    SENSOR_END = "sensor_end"  # sensorMetadata endTime, as a time term
    SENSOR_NUMBER = "sensor_number"  # "<field> <uom> <number term>" of a sensorReport (value, minValue, ...); percRank without uom


ANY_EPC = (TermName.EPC, TermName.PARENT, TermName.INPUT, TermName.OUTPUT)
"""The terms that name an item, whatever its role in the event."""

ANY_EPC_CLASS = (TermName.EPC_CLASS, TermName.INPUT_CLASS, TermName.OUTPUT_CLASS)
"""The terms that name a class in a quantity list, whatever its role in the event."""


class RecordTerm(SQLModel, table=True):
    """``name`` is a term kind (see :class:`TermName`), ``value`` its normalised value."""

    __tablename__ = "record_term"
    __table_args__ = (Index("ix_record_term_record", "record_id"),)

    name: str = Field(sa_column=Column(String(64), primary_key=True))
    value: str = Field(sa_column=Column(String(512), primary_key=True))
    record_id: int = Field(
        sa_column=Column(Integer, ForeignKey("record.id", ondelete="CASCADE"), primary_key=True)
    )
