"""staff actions on people and imports

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 04:40:00

"""
from alembic import op
import sqlalchemy as sa

import lms.core.models  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('gender_sealed', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('id_number_sealed', sa.Text(), nullable=True))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('must_change_password', server_default=None)

    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_action'), ['action'], unique=False)

    op.create_table('resident_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('file', sa.String(length=200), nullable=True),
    sa.Column('status', sa.Enum('checked', 'queued', 'running', 'done', 'failed', name='importstatus', native_enum=False, length=20), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('good_rows', sa.Integer(), nullable=False),
    sa.Column('to_create', sa.Integer(), nullable=False),
    sa.Column('to_update', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('problem_rows', sa.Integer(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('failure', sa.Text(), nullable=True),
    sa.Column('slips_sealed', sa.Text(), nullable=True),
    sa.Column('finished_at', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_resident_import_created_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_import'))
    )
    with op.batch_alter_table('resident_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resident_import_created_by_id'), ['created_by_id'], unique=False)


def downgrade():
    with op.batch_alter_table('resident_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resident_import_created_by_id'))
    op.drop_table('resident_import')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_action'))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('id_number_sealed')
        batch_op.drop_column('gender_sealed')
        batch_op.drop_column('must_change_password')
