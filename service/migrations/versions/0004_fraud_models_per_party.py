"""Fraud models belong to the party that trained them, and carry whether they are active and why not.

Two lenders training on the same labelled set each keep their own model (the version alone was
unique), each party's latest model becomes its active one, and ``warning`` says why a model is not
active or why its scores need caution.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: SQLite's copy of 0001's unnamed unique constraint on version gets this name when reflected.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    old_unique = "fraud_model_version_key" if op.get_bind().dialect.name == "postgresql" else "uq_fraud_model_version"
    with op.batch_alter_table("fraud_model", naming_convention=_NAMING) as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("warning", sa.String(), nullable=True))
        batch_op.drop_constraint(old_unique, type_="unique")
        batch_op.create_unique_constraint("uq_fraud_model_created_by_version", ["created_by", "version"])
        batch_op.create_index("ix_fraud_model_version", ["version"], unique=False)
    with op.batch_alter_table("fraud_model") as batch_op:
        batch_op.alter_column("active", existing_type=sa.Boolean(), server_default=None)
    op.execute(
        "UPDATE fraud_model SET active = true WHERE id IN (SELECT max(id) FROM fraud_model AS latest "
        "WHERE latest.created_at = (SELECT max(created_at) FROM fraud_model AS mine WHERE mine.created_by = latest.created_by) "
        "GROUP BY created_by)"
    )


def downgrade() -> None:
    repeated = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM (SELECT version FROM fraud_model GROUP BY version HAVING count(*) > 1) AS shared")).scalar()
    if repeated:
        op.execute("DELETE FROM fraud_model WHERE id NOT IN (SELECT max(id) FROM fraud_model GROUP BY version)")
    with op.batch_alter_table("fraud_model") as batch_op:
        batch_op.drop_index("ix_fraud_model_version")
        batch_op.drop_constraint("uq_fraud_model_created_by_version", type_="unique")
        batch_op.create_unique_constraint("fraud_model_version_key", ["version"])
        batch_op.drop_column("warning")
        batch_op.drop_column("active")
