"""Signed submissions keep the content hashes their root was built from (issue 16): a record deleted
after it was signed must not take its leaf out of the other records' proofs, so the leaves are kept
with the signature instead of being read back from the records. Backfilled from the records still
linked; a submission none of whose records remain gets an empty list (no proof can be asked of it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signed_submission") as batch:
        batch.add_column(sa.Column("content_hashes", sa.JSON(), nullable=True))
    connection = op.get_bind()
    hashes: dict[int, list[str]] = defaultdict(list)
    for submission_id, content_hash in connection.execute(sa.text(
            "SELECT record_signature.submission_id, record.content_hash FROM record_signature "
            "JOIN record ON record.id = record_signature.record_id ORDER BY record_signature.submission_id, record_signature.position")):
        hashes[submission_id].append(content_hash)
    table = sa.table("signed_submission", sa.column("id", sa.Integer()), sa.column("content_hashes", sa.JSON()))
    for submission_id in connection.execute(sa.select(table.c.id)).scalars().all():
        connection.execute(table.update().where(table.c.id == submission_id).values(content_hashes=hashes.get(submission_id, [])))
    with op.batch_alter_table("signed_submission") as batch:
        batch.alter_column("content_hashes", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("signed_submission") as batch:
        batch.drop_column("content_hashes")
