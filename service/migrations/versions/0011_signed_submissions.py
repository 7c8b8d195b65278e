"""Signed submissions (issue 16): ``signed_submission`` (one row per signed submission) and
``record_signature`` (the record at each position of each); the ``recordkind`` enum gains
``SIGNING_KEY`` (registrations and revocations of parties' signing keys, stored as records); a capture
job keeps a signed document's checked signature (``capture_job.signature``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE recordkind ADD VALUE IF NOT EXISTS 'SIGNING_KEY'")
    op.create_table(
        "signed_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("signer", sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(length=132), nullable=False),
        sa.Column("typed_data", sa.Text(), nullable=False),
        sa.Column("root", sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_signed_submission_party"), "signed_submission", ["party"], unique=False)
    op.create_table(
        "record_signature",
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("signed_submission.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), sa.ForeignKey("record.id", ondelete="CASCADE"), nullable=False),
        sa.PrimaryKeyConstraint("submission_id", "position"),
    )
    op.create_index(op.f("ix_record_signature_record_id"), "record_signature", ["record_id"], unique=False)
    with op.batch_alter_table("capture_job") as table:
        table.add_column(sa.Column("signature", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("capture_job") as table:
        table.drop_column("signature")
    op.drop_index(op.f("ix_record_signature_record_id"), table_name="record_signature")
    op.drop_table("record_signature")
    op.drop_index(op.f("ix_signed_submission_party"), table_name="signed_submission")
    op.drop_table("signed_submission")
    # The older release cannot load a record of kind SIGNING_KEY: they go, with their leaves and terms (a batch
    # holding one then audits incomplete, as it should: the ledger lost records). PostgreSQL keeps the enum value.
    signing_keys = "SELECT id FROM record WHERE kind = 'SIGNING_KEY'"
    for table in ("record_term", "record_leaf"):
        op.execute(sa.text(f"DELETE FROM {table} WHERE record_id IN ({signing_keys})"))
    op.execute(sa.text("DELETE FROM record WHERE kind = 'SIGNING_KEY'"))
