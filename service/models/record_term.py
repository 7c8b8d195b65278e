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
    EPC_CLASS = "epc_class"  # epcClass of any quantity list
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


ANY_EPC = (TermName.EPC, TermName.PARENT, TermName.INPUT, TermName.OUTPUT)
"""The terms that name an item, whatever its role in the event."""


class RecordTerm(SQLModel, table=True):
    """``name`` is a term kind (see :class:`TermName`), ``value`` its normalised value."""

    __tablename__ = "record_term"
    __table_args__ = (Index("ix_record_term_record", "record_id"),)

    name: str = Field(sa_column=Column(String(64), primary_key=True))
    value: str = Field(sa_column=Column(String(512), primary_key=True))
    record_id: int = Field(
        sa_column=Column(Integer, ForeignKey("record.id", ondelete="CASCADE"), primary_key=True)
    )
