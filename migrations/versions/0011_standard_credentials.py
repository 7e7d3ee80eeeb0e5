"""standard credentials: status lists, DID keys, checkpoints

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 04:50:00

"""
from alembic import op
import sqlalchemy as sa

import lms.core.models  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('standard_credential',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.Enum('badge', 'record', name='credentialkind', native_enum=False, length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('transcript_id', sa.Integer(), nullable=True),
    sa.Column('status_list', sa.Integer(), nullable=False),
    sa.Column('status_index', sa.Integer(), nullable=False),
    sa.Column('issued_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entry.id'], name=op.f('fk_standard_credential_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['transcript_id'], ['transcript.id'], name=op.f('fk_standard_credential_transcript_id_transcript')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_standard_credential_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_standard_credential')),
    sa.UniqueConstraint('credential_id', name=op.f('uq_standard_credential_credential_id')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_standard_credential_entry_id')),
    sa.UniqueConstraint('status_list', 'status_index', name=op.f('uq_standard_credential_status_list_status_index')),
    sa.UniqueConstraint('transcript_id', name=op.f('uq_standard_credential_transcript_id'))
    )
    with op.batch_alter_table('standard_credential', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_standard_credential_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('standard_credential', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_standard_credential_user_id'))

    op.drop_table('standard_credential')
