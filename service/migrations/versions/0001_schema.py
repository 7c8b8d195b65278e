"""The schema of the last release before versioning: records (with their batch, leaf position and
status), terms, batches and trees, keys, deployments, fraud models.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('role', sa.Enum('ADMIN', 'SUPPLIER', 'AUDITOR', 'RETAILER', 'LENDER', name='role'), nullable=False),
    sa.Column('party', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_party'), ['party'], unique=False)

    op.create_table('batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('root', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('leaf_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'SUBMITTED', 'ANCHORED', name='batchstatus'), nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=True),
    sa.Column('contract', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('block_number', sa.BigInteger(), nullable=True),
    sa.Column('gas_used', sa.Integer(), nullable=True),
    sa.Column('anchored_at', sa.BigInteger(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('retry_after', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('root')
    )
    with op.batch_alter_table('batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_status'), ['status'], unique=False)

    op.create_table('deployment',
    sa.Column('chain_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('chain_id')
    )
    op.create_table('fraud_model',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('model', sa.LargeBinary(), nullable=False),
    sa.Column('seal', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version')
    )
    with op.batch_alter_table('fraud_model', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fraud_model_created_at'), ['created_at'], unique=False)

    op.create_table('record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('EPCIS_EVENT', 'TRANSACTION', 'LABEL', name='recordkind'), nullable=False),
    sa.Column('record_type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('business_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('party', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('occurred_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('biz_step', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('disposition', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('biz_location', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('read_point', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('status', sa.Enum('PENDING', 'ANCHORED', name='recordstatus'), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('tree_index', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('business_id', 'kind', name='uq_record_business_id_kind')
    )
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.create_index('ix_record_batch_tree', ['batch_id', 'tree_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_biz_location'), ['biz_location'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_biz_step'), ['biz_step'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_disposition'), ['disposition'], unique=False)
        batch_op.create_index('ix_record_kind_time', ['kind', 'occurred_at', 'id'], unique=False)
        batch_op.create_index('ix_record_party_time', ['party', 'occurred_at', 'id'], unique=False)
        batch_op.create_index('ix_record_pending', ['status', 'batch_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_read_point'), ['read_point'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_record_type'), ['record_type'], unique=False)

    op.create_table('batch_tree',
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('nodes', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('batch_id')
    )
    op.create_table('record_term',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=512), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('name', 'value', 'record_id')
    )
    with op.batch_alter_table('record_term', schema=None) as batch_op:
        batch_op.create_index('ix_record_term_record', ['record_id'], unique=False)


def downgrade() -> None:
    for table in ("record_term", "batch_tree", "record", "fraud_model", "deployment", "batch", "api_key"):
        op.drop_table(table)
    for enum in ("recordkind", "recordstatus", "batchstatus", "role"):  # PostgreSQL keeps enum types after their tables
        sa.Enum(name=enum).drop(op.get_bind(), checkfirst=True)
