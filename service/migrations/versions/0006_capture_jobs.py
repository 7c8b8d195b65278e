"""Capture jobs of the EPCIS binding (``POST /epcis/capture``): each accepted document waits in
``capture_job`` until a worker has stored its events, so that a restart loses none.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "capture_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("capture_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("party", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("error_behaviour", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("captured", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("capture_id"),
    )
    op.create_index(op.f("ix_capture_job_finished_at"), "capture_job", ["finished_at"], unique=False)
    op.create_index(op.f("ix_capture_job_party"), "capture_job", ["party"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_capture_job_party"), table_name="capture_job")
    op.drop_index(op.f("ix_capture_job_finished_at"), table_name="capture_job")
    op.drop_table("capture_job")
