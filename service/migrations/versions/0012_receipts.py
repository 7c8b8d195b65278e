"""Receipts the operator signed for accepted submissions (issue 16): ``receipt``, indexed by the
time by which their records must be anchored, so the audit finds the overdue ones (and by capture
job, whose receipt ``GET /epcis/capture/{captureID}`` shows).

Revision ID: 0012
Revises: 0011 (written against 0010; chained after 0011 once wp-f was merged in)
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("root", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("anchor_by", sa.BigInteger(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("contract", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("signer", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("record_ids", sa.JSON(), nullable=False),
        sa.Column("content_hashes", sa.JSON(), nullable=False),
        sa.Column("capture_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_receipt_party"), "receipt", ["party"], unique=False)
    op.create_index(op.f("ix_receipt_anchor_by"), "receipt", ["anchor_by"], unique=False)
    op.create_index(op.f("ix_receipt_capture_id"), "receipt", ["capture_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_receipt_capture_id"), table_name="receipt")
    op.drop_index(op.f("ix_receipt_anchor_by"), table_name="receipt")
    op.drop_index(op.f("ix_receipt_party"), table_name="receipt")
    op.drop_table("receipt")
