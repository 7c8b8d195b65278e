"""Submitted XML documents kept byte for byte: ``source_document`` (one row per submission) and
``record_source`` (the document and event position each record was captured from); a capture job
records the media type of an XML document (``capture_job.media_type``).

Revision ID: 0010
Revises: 0007 (the integrator chains it after 0008/0009)
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "source_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_source_document_party"), "source_document", ["party"], unique=False)
    op.create_table(
        "record_source",
        sa.Column("record_id", sa.Integer(), sa.ForeignKey("record.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("source_document.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("record_id"),
    )
    op.create_index(op.f("ix_record_source_source_id"), "record_source", ["source_id"], unique=False)
    with op.batch_alter_table("capture_job") as table:
        table.add_column(sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("capture_job") as table:
        table.drop_column("media_type")
    op.drop_index(op.f("ix_record_source_source_id"), table_name="record_source")
    op.drop_table("record_source")
    op.drop_index(op.f("ix_source_document_party"), table_name="source_document")
    op.drop_table("source_document")
