"""participation rollups

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 04:40:00

"""
from alembic import op
import sqlalchemy as sa

import lms.core.models  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('participation_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('unit_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('category_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('age_band', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('hours', sa.Numeric(precision=14, scale=1), nullable=False),
    sa.Column('credits', sa.Numeric(precision=14, scale=1), nullable=False),
    sa.PrimaryKeyConstraint('day', 'unit_id', 'category_id', 'age_band', name=op.f('pk_participation_day'))
    )
    with op.batch_alter_table('participation_day', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participation_day_month'), ['month'], unique=False)

    op.create_table('participation_stat',
    sa.Column('unit_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('period', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('category_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('age_band', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('residents', sa.Integer(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('hours', sa.Numeric(precision=14, scale=1), nullable=False),
    sa.Column('credits', sa.Numeric(precision=14, scale=1), nullable=False),
    sa.PrimaryKeyConstraint('unit_id', 'period', 'category_id', 'age_band', name=op.f('pk_participation_stat'))
    )
    op.create_table('resident_period',
    sa.Column('period', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('category_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('age_band', sa.SmallInteger(), nullable=False),
    sa.PrimaryKeyConstraint('period', 'user_id', 'category_id', name=op.f('pk_resident_period'))
    )
    op.create_table('rollup_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('refreshed_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('from_day', sa.Date(), nullable=True),
    sa.Column('seconds', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rollup_state'))
    )
    op.create_table('participation_target',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.Column('set_at', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['set_by_id'], ['user.id'], name=op.f('fk_participation_target_set_by_id_user')),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_participation_target'))
    )
    # The refresh finds a day's records by these times (lms/admin/rollups.py).
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.create_index('ix_enrolment_completed_at', ['completed_at'], unique=False)

    with op.batch_alter_table('learning_outcome', schema=None) as batch_op:
        batch_op.create_index('ix_learning_outcome_decided_at', ['decided_at'], unique=False)

    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entry_occurred_at', ['occurred_at'], unique=False)

    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.create_index('ix_lesson_progress_completed_at', ['completed_at'], unique=False)

    with op.batch_alter_table('lesson_visit', schema=None) as batch_op:
        batch_op.create_index('ix_lesson_visit_started_at', ['started_at'], unique=False)


def downgrade():
    with op.batch_alter_table('lesson_visit', schema=None) as batch_op:
        batch_op.drop_index('ix_lesson_visit_started_at')

    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.drop_index('ix_lesson_progress_completed_at')

    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entry_occurred_at')

    with op.batch_alter_table('learning_outcome', schema=None) as batch_op:
        batch_op.drop_index('ix_learning_outcome_decided_at')

    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_index('ix_enrolment_completed_at')

    op.drop_table('participation_target')
    op.drop_table('rollup_state')
    op.drop_table('resident_period')
    op.drop_table('participation_stat')
    with op.batch_alter_table('participation_day', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participation_day_month'))

    op.drop_table('participation_day')
