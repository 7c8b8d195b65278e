"""Business ids belong to their party; every new record gets a salt; grants are a record kind.

* ``record``: unique per (business id, kind, party) instead of (business id, kind), so two
  suppliers recording the same event or numbering invoices alike each keep their own record;
  ``party`` is required; ``salt`` (32 random bytes, hex) is hashed into the record's leaf.
* ``batch.leaf_encoding``: batches closed before this revision keep ``bytes32`` (the content hash
  alone) and keep verifying with it; new ones use ``bytes32,bytes32`` ([content hash, salt]).
* Records waiting for a batch get their salt now, so every batch closed from here on is salted.
* Fraud labels get ids derived from their body (``service.ingest.candidates.label_id``): the old ones
  carried a sequence number that no hash protected.
* PostgreSQL: the ``recordkind`` enum gains ``GRANT``.

Downgrading is refused once salted batches or per-party duplicates exist: the older release could
neither verify the one nor store the other.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

import json
import secrets
from collections.abc import Sequence
from urllib.parse import quote

import sqlalchemy as sa
from alembic import op

from service.errors import SchemaError

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_record = sa.table("record", sa.column("id", sa.Integer), sa.column("business_id", sa.String), sa.column("party", sa.String),
                   sa.column("salt", sa.String))
_leaf = sa.table("record_leaf", sa.column("record_id", sa.Integer), sa.column("batch_id", sa.Integer))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TYPE recordkind ADD VALUE IF NOT EXISTS 'GRANT'")
    op.execute(_record.update().where(_record.c.party.is_(None)).values(party=""))
    with op.batch_alter_table("record") as batch_op:
        batch_op.add_column(sa.Column("salt", sa.String(), nullable=True))
        batch_op.alter_column("party", existing_type=sa.String(), nullable=False)
        batch_op.drop_constraint("uq_record_business_id_kind", type_="unique")
        batch_op.create_unique_constraint("uq_record_business_id_kind_party", ["business_id", "kind", "party"])
    with op.batch_alter_table("batch") as batch_op:
        batch_op.add_column(sa.Column("leaf_encoding", sa.String(), nullable=False, server_default="bytes32"))
    with op.batch_alter_table("batch") as batch_op:
        batch_op.alter_column("leaf_encoding", existing_type=sa.String(), server_default=None)
    waiting = bind.execute(sa.select(_leaf.c.record_id).where(_leaf.c.batch_id.is_(None))).scalars().all()
    for record_id in waiting:
        bind.execute(_record.update().where(_record.c.id == record_id).values(salt="0x" + secrets.token_hex(32)))
    for record_id, body in bind.execute(sa.text("SELECT id, body FROM record WHERE kind = 'LABEL'")).all():
        bind.execute(_record.update().where(_record.c.id == record_id).values(business_id=_label_id(json.loads(body))))


def downgrade() -> None:
    bind = op.get_bind()
    salted = bind.execute(sa.text("SELECT count(*) FROM batch WHERE leaf_encoding <> 'bytes32'")).scalar()
    shared = bind.execute(sa.text("SELECT count(*) FROM (SELECT business_id, kind FROM record GROUP BY business_id, kind "
                                  "HAVING count(*) > 1) AS repeated")).scalar()
    grants = bind.execute(sa.text("SELECT count(*) FROM record WHERE kind = 'GRANT'")).scalar()
    if salted or shared or grants:
        raise SchemaError(f"cannot downgrade below 0003: {salted} salted batches, {shared} business ids recorded by "
                          f"several parties and {grants} grants, which the older release can neither verify nor store")
    labels = bind.execute(sa.text("SELECT id, body FROM record WHERE kind = 'LABEL' ORDER BY id")).all()
    numbers: dict[tuple[str, str], int] = {}
    for record_id, body in labels:
        label = json.loads(body)
        number = numbers[label["lender"], label["transaction"]] = numbers.get((label["lender"], label["transaction"]), 0) + 1
        bind.execute(_record.update().where(_record.c.id == record_id).values(
            business_id=f"label:{quote(label['lender'], safe='')}:{number}:{label['transaction']}"))
    with op.batch_alter_table("batch") as batch_op:
        batch_op.drop_column("leaf_encoding")
    with op.batch_alter_table("record") as batch_op:
        batch_op.drop_constraint("uq_record_business_id_kind_party", type_="unique")
        batch_op.create_unique_constraint("uq_record_business_id_kind", ["business_id", "kind"])
        batch_op.alter_column("party", existing_type=sa.String(), nullable=True)
        batch_op.drop_column("salt")


def _label_id(label: dict) -> str:
    """``service.ingest.candidates.label_id`` as of this revision (a migration must not change with the code)."""
    return (f"label:{quote(label['lender'], safe='')}:{quote(label.get('party', ''), safe='')}:"
            f"{quote(label['transaction'], safe='')}@{label['labelled_at']}")
