"""activities, registration and attendance; an activity outcome names its attendance

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 08:00:00

Activity outcomes are one per attendance (``learning_outcome.attendance_id`` unique), so they
leave the partial "one live offline outcome" index: two activities with the same title on the
same day are two outcomes.
"""
from alembic import op
import sqlalchemy as sa

import lms.core.models


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

OLD_WHERE = "status IN ('pending', 'certified') AND course_id IS NULL"
NEW_WHERE = OLD_WHERE + " AND attendance_id IS NULL"
ONCE_COLUMNS = ['user_id', 'kind', 'title', 'occurred_on', 'hours']


def _once_index(batch_op, where):
    batch_op.create_index(
        'ix_learning_outcome_once',
        ONCE_COLUMNS,
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def upgrade():
    op.create_table('activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('week', 'reading', 'lecture', 'community', 'training', 'other', name='activitykind', native_enum=False, length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('starts_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('hours', sa.Numeric(precision=7, scale=1), nullable=False),
    sa.Column('needs_registration', sa.Boolean(), nullable=False),
    sa.Column('audience_unit_id', sa.Integer(), nullable=True),
    sa.Column('needs_check_out', sa.Boolean(), nullable=False),
    sa.Column('min_stay_minutes', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('open', 'closed', 'cancelled', name='activitystatus', native_enum=False, length=20), nullable=False),
    sa.Column('code_key', sa.String(length=32), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('reminded_at', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('capacity IS NULL OR capacity > 0', name=op.f('ck_activity_capacity')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_activity_window')),
    sa.CheckConstraint('hours >= 0', name=op.f('ck_activity_hours')),
    sa.ForeignKeyConstraint(['audience_unit_id'], ['org_unit.id'], name=op.f('fk_activity_audience_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user.id'], name=op.f('fk_activity_closed_by_id_user')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_activity_created_by_id_user')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_activity_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity'))
    )
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_audience_unit_id'), ['audience_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_unit_id'), ['unit_id'], unique=False)
    op.create_table('attendance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.Enum('scan', 'personal', 'hand', name='checkinmethod', native_enum=False, length=20), nullable=False),
    sa.Column('device_id', sa.String(length=32), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_in_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('checked_out_at', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('added_reason', sa.String(length=200), nullable=False),
    sa.Column('counted_at', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voided_at', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('void_reason', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activity.id'], name=op.f('fk_attendance_activity_id_activity')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_attendance_recorded_by_id_user')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_attendance_user_id_user')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['user.id'], name=op.f('fk_attendance_voided_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance')),
    sa.UniqueConstraint('activity_id', 'user_id', name=op.f('uq_attendance_activity_id_user_id'))
    )
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.create_index('ix_attendance_activity_device', ['activity_id', 'device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendance_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendance_user_id'), ['user_id'], unique=False)
    op.create_table('registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('registered_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['activity.id'], name=op.f('fk_registration_activity_id_activity')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_registration_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration')),
    sa.UniqueConstraint('activity_id', 'user_id', name=op.f('uq_registration_activity_id_user_id'))
    )
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registration_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('learning_outcome', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attendance_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_learning_outcome_attendance_id'), ['attendance_id'])
        batch_op.create_foreign_key(batch_op.f('fk_learning_outcome_attendance_id_attendance'), 'attendance', ['attendance_id'], ['id'])

    with op.batch_alter_table('learning_outcome', schema=None) as batch_op:
        batch_op.drop_index('ix_learning_outcome_once')
        _once_index(batch_op, NEW_WHERE)


def downgrade():
    with op.batch_alter_table('learning_outcome', schema=None) as batch_op:
        batch_op.drop_index('ix_learning_outcome_once')
        _once_index(batch_op, OLD_WHERE)
    with op.batch_alter_table('learning_outcome', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_learning_outcome_attendance_id_attendance'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_learning_outcome_attendance_id'), type_='unique')
        batch_op.drop_column('attendance_id')
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_user_id'))
        batch_op.drop_index(batch_op.f('ix_registration_activity_id'))
    op.drop_table('registration')
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_user_id'))
        batch_op.drop_index(batch_op.f('ix_attendance_activity_id'))
        batch_op.drop_index('ix_attendance_activity_device')
    op.drop_table('attendance')
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_unit_id'))
        batch_op.drop_index(batch_op.f('ix_activity_status'))
        batch_op.drop_index(batch_op.f('ix_activity_starts_at'))
        batch_op.drop_index(batch_op.f('ix_activity_audience_unit_id'))
    op.drop_table('activity')
