"""credentials from elsewhere (trusted issuers, imported credentials, external rules)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 08:00:00

"""
from alembic import op
import sqlalchemy as sa

import lms.core.models  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('trusted_issuer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('did', sa.String(length=200), nullable=False),
    sa.Column('keys', sa.JSON(), nullable=False),
    sa.Column('did_document', sa.JSON(), nullable=True),
    sa.Column('origin', sa.String(length=200), nullable=False),
    sa.Column('trusted_from', sa.Date(), nullable=False),
    sa.Column('achievement_types', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('retired_at', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retired_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], name=op.f('fk_trusted_issuer_added_by_id_user')),
    sa.ForeignKeyConstraint(['retired_by_id'], ['user.id'], name=op.f('fk_trusted_issuer_retired_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trusted_issuer'))
    )
    with op.batch_alter_table('trusted_issuer', schema=None) as batch_op:
        batch_op.create_index('ix_trusted_issuer_current', ['did'], unique=True, sqlite_where=sa.text('retired_at IS NULL'), postgresql_where=sa.text('retired_at IS NULL'))
    op.create_table('credential_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('badge', 'record', name='credentialkind', native_enum=False, length=20), nullable=False),
    sa.Column('credential_id', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('created_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issuer_id'], ['trusted_issuer.id'], name=op.f('fk_credential_upload_issuer_id_trusted_issuer')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_credential_upload_uploaded_by_id_user')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_credential_upload_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential_upload'))
    )
    with op.batch_alter_table('credential_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credential_upload_user_id'), ['user_id'], unique=False)
    op.create_table('imported_credential',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('upload_id', sa.Integer(), nullable=False),
    sa.Column('outcome_id', sa.Integer(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.String(length=200), nullable=False),
    sa.Column('ledger_key', sa.String(length=100), nullable=False),
    sa.Column('achievement_type', sa.String(length=40), nullable=False),
    sa.Column('source_credits', sa.Numeric(precision=9, scale=1), nullable=True),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('status_url', sa.String(length=500), nullable=False),
    sa.Column('status_index', sa.Integer(), nullable=True),
    sa.Column('checked_at', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('check_problem', sa.String(length=500), nullable=False),
    sa.Column('revoked_at_source', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['issuer_id'], ['trusted_issuer.id'], name=op.f('fk_imported_credential_issuer_id_trusted_issuer')),
    sa.ForeignKeyConstraint(['outcome_id'], ['learning_outcome.id'], name=op.f('fk_imported_credential_outcome_id_learning_outcome')),
    sa.ForeignKeyConstraint(['upload_id'], ['credential_upload.id'], name=op.f('fk_imported_credential_upload_id_credential_upload')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imported_credential')),
    sa.UniqueConstraint('outcome_id', name=op.f('uq_imported_credential_outcome_id'))
    )
    with op.batch_alter_table('imported_credential', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imported_credential_credential_id'), ['credential_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_imported_credential_issuer_id'), ['issuer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_imported_credential_revoked_at_source'), ['revoked_at_source'], unique=False)
        batch_op.create_index(batch_op.f('ix_imported_credential_upload_id'), ['upload_id'], unique=False)
    with op.batch_alter_table('conversion_rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issuer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('achievement_type', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('credit_ratio', sa.Numeric(precision=4, scale=1), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_conversion_rule_issuer_id_trusted_issuer'), 'trusted_issuer', ['issuer_id'], ['id'])


def downgrade():
    with op.batch_alter_table('conversion_rule', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_conversion_rule_issuer_id_trusted_issuer'), type_='foreignkey')
        batch_op.drop_column('credit_ratio')
        batch_op.drop_column('achievement_type')
        batch_op.drop_column('issuer_id')
    with op.batch_alter_table('imported_credential', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imported_credential_upload_id'))
        batch_op.drop_index(batch_op.f('ix_imported_credential_revoked_at_source'))
        batch_op.drop_index(batch_op.f('ix_imported_credential_issuer_id'))
        batch_op.drop_index(batch_op.f('ix_imported_credential_credential_id'))
    op.drop_table('imported_credential')
    with op.batch_alter_table('credential_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credential_upload_user_id'))
    op.drop_table('credential_upload')
    with op.batch_alter_table('trusted_issuer', schema=None) as batch_op:
        batch_op.drop_index('ix_trusted_issuer_current', sqlite_where=sa.text('retired_at IS NULL'), postgresql_where=sa.text('retired_at IS NULL'))
    op.drop_table('trusted_issuer')
