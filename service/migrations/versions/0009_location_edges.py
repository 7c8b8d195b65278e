"""Location hierarchies from captured master data: ``location_edge``, one row per parent -> child
edge a party's document declared (BusinessLocation or ReadPoint), walked by ``WD_bizLocation`` and
``WD_readPoint``. Nothing to backfill: documents captured before kept no master data.

Revision ID: 0009
Revises: 0007 (the integrator chains it after 0008)
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "location_edge",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("vocabulary", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("parent", sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
        sa.Column("child", sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
        sa.Column("party", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("vocabulary", "parent", "child", "party", name="uq_location_edge"),
    )
    op.create_index("ix_location_edge_party", "location_edge", ["party"])


def downgrade() -> None:
    op.drop_table("location_edge")
