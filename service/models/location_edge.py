"""Location hierarchies from captured master data: one row per parent -> child edge that a party's
EPCIS document declared (``epcisHeader.epcisMasterData``, the ``children`` of a BusinessLocation or
ReadPoint vocabulary element).

Edges are kept per declaring party, so that a query expands a location only through the hierarchy
declared by parties whose records the asking party may read (``service.read.queries``): one tenant's
master data never shapes what another's ``WD_`` query finds.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.timeutil import utcnow


class LocationVocabulary(StrEnum):
    """The hierarchical vocabularies a ``WD_`` query walks: ``WD_bizLocation`` and ``WD_readPoint``."""

    BIZ_LOCATION = "biz_location"  # urn:epcglobal:epcis:vtype:BusinessLocation
    READ_POINT = "read_point"  # urn:epcglobal:epcis:vtype:ReadPoint


class LocationEdge(SQLModel, table=True):
    """``parent`` and ``child`` are canonical identifiers (``service.ingest.indexing.identifier``), as
    the record columns ``biz_location`` and ``read_point`` hold them."""

    __tablename__ = "location_edge"
    __table_args__ = (
        UniqueConstraint("vocabulary", "parent", "child", "party", name="uq_location_edge"),
        Index("ix_location_edge_party", "party"),
    )

    id: int | None = Field(default=None, primary_key=True)
    vocabulary: str = Field(max_length=16)
    parent: str = Field(max_length=250)
    child: str = Field(max_length=250)
    party: str
    created_at: datetime = Field(default_factory=utcnow)
