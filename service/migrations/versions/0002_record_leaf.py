"""Move a record's batch and leaf position into the narrow record_leaf table; derive its status.

Closing a batch then updates narrow rows instead of the wide record rows, and anchoring a batch
writes the batch row alone (docs/ingest.md). Existing records keep their batch and position;
their status was their batch's already.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD_STATUS = sa.Enum("PENDING", "ANCHORED", name="recordstatus")


def upgrade() -> None:
    op.create_table(
        "record_leaf",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("tree_index", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"]),
        sa.ForeignKeyConstraint(["record_id"], ["record.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("record_id"),
    )
    op.execute("INSERT INTO record_leaf (record_id, batch_id, tree_index) SELECT id, batch_id, tree_index FROM record")
    op.create_index("ix_record_leaf_unbatched", "record_leaf", ["record_id"], unique=False,
                    postgresql_where=sa.text("batch_id IS NULL"), sqlite_where=sa.text("batch_id IS NULL"))
    with op.batch_alter_table("record") as batch_op:
        batch_op.drop_index("ix_record_pending")
        batch_op.drop_index("ix_record_batch_tree")
        batch_op.drop_column("status")
        batch_op.drop_column("tree_index")
        batch_op.drop_column("batch_id")
    RECORD_STATUS.drop(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    RECORD_STATUS.create(op.get_bind(), checkfirst=True)
    with op.batch_alter_table("record") as batch_op:
        batch_op.add_column(sa.Column("status", RECORD_STATUS, nullable=True))
        batch_op.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("tree_index", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("record_batch_id_fkey", "batch", ["batch_id"], ["id"])  # PostgreSQL's name for 0001's
    record = sa.table("record", sa.column("id"), sa.column("status", RECORD_STATUS), sa.column("batch_id"), sa.column("tree_index"))
    leaf = sa.table("record_leaf", sa.column("record_id"), sa.column("batch_id"), sa.column("tree_index"))
    batch = sa.table("batch", sa.column("id"), sa.column("status", sa.Enum("PENDING", "SUBMITTED", "ANCHORED", name="batchstatus")))
    of_record = leaf.c.record_id == record.c.id
    anchored = sa.exists().where(of_record, batch.c.id == leaf.c.batch_id, batch.c.status == "ANCHORED")
    op.execute(record.update().values(
        batch_id=sa.select(leaf.c.batch_id).where(of_record).scalar_subquery(),
        tree_index=sa.select(leaf.c.tree_index).where(of_record).scalar_subquery(),
        status=sa.cast(sa.case((anchored, "ANCHORED"), else_="PENDING"), RECORD_STATUS),
    ))
    with op.batch_alter_table("record") as batch_op:
        batch_op.alter_column("status", existing_type=RECORD_STATUS, nullable=False)
        batch_op.create_index("ix_record_batch_tree", ["batch_id", "tree_index"], unique=False)
        batch_op.create_index("ix_record_pending", ["status", "batch_id", "id"], unique=False)
    op.drop_table("record_leaf")
