"""lecturers and volunteers (讲师团, 志愿者, 后备人才库) and who taught at an activity

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 08:00:00

"""
from alembic import op
import sqlalchemy as sa

import lms.core.models


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    # The participation rollups count attending by the day of the check-in.
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.create_index('ix_attendance_checked_in_at', ['checked_in_at'], unique=False)

    op.create_table('lecturer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=False),
    sa.Column('subjects', sa.String(length=200), nullable=False),
    sa.Column('qualification', sa.String(length=200), nullable=False),
    sa.Column('bio', sa.Text(), nullable=False),
    sa.Column('talent_pool', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_lecturer_created_by_id_user')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_lecturer_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_lecturer_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lecturer')),
    sa.UniqueConstraint('org_unit_id', 'name', 'phone', name=op.f('uq_lecturer_org_unit_id_name_phone')),
    sa.UniqueConstraint('user_id', name=op.f('uq_lecturer_user_id'))
    )
    with op.batch_alter_table('lecturer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lecturer_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('volunteer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=False),
    sa.Column('skills', sa.String(length=200), nullable=False),
    sa.Column('availability', sa.String(length=200), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'refused', 'withdrawn', name='volunteerstatus', native_enum=False, length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('decided_at', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('talent_pool', sa.Boolean(), nullable=False),
    sa.Column('created_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_volunteer_decided_by_id_user')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_volunteer_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_volunteer_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer')),
    sa.UniqueConstraint('user_id', name=op.f('uq_volunteer_user_id'))
    )
    with op.batch_alter_table('volunteer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_status'), ['status'], unique=False)

    op.create_table('activity_lecturer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('lecturer_id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('residents_came', sa.Integer(), nullable=True),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('hours', sa.Numeric(precision=7, scale=1), nullable=True),
    sa.Column('added_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('served_hours', sa.Numeric(precision=7, scale=1), nullable=True),
    sa.Column('recorded_at', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['activity.id'], name=op.f('fk_activity_lecturer_activity_id_activity')),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], name=op.f('fk_activity_lecturer_added_by_id_user')),
    sa.ForeignKeyConstraint(['lecturer_id'], ['lecturer.id'], name=op.f('fk_activity_lecturer_lecturer_id_lecturer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_lecturer')),
    sa.UniqueConstraint('activity_id', 'lecturer_id', name=op.f('uq_activity_lecturer_activity_id_lecturer_id'))
    )
    with op.batch_alter_table('activity_lecturer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_lecturer_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_lecturer_lecturer_id'), ['lecturer_id'], unique=False)

    op.create_table('activity_volunteer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('duty', sa.String(length=100), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('hours', sa.Numeric(precision=7, scale=1), nullable=True),
    sa.Column('added_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('served_hours', sa.Numeric(precision=7, scale=1), nullable=True),
    sa.Column('recorded_at', lms.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['activity.id'], name=op.f('fk_activity_volunteer_activity_id_activity')),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], name=op.f('fk_activity_volunteer_added_by_id_user')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteer.id'], name=op.f('fk_activity_volunteer_volunteer_id_volunteer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_volunteer')),
    sa.UniqueConstraint('activity_id', 'volunteer_id', name=op.f('uq_activity_volunteer_activity_id_volunteer_id'))
    )
    with op.batch_alter_table('activity_volunteer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_volunteer_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_volunteer_volunteer_id'), ['volunteer_id'], unique=False)


def downgrade():
    with op.batch_alter_table('activity_volunteer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_volunteer_volunteer_id'))
        batch_op.drop_index(batch_op.f('ix_activity_volunteer_activity_id'))

    op.drop_table('activity_volunteer')
    with op.batch_alter_table('activity_lecturer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_lecturer_lecturer_id'))
        batch_op.drop_index(batch_op.f('ix_activity_lecturer_activity_id'))

    op.drop_table('activity_lecturer')
    with op.batch_alter_table('volunteer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_status'))
        batch_op.drop_index(batch_op.f('ix_volunteer_org_unit_id'))

    op.drop_table('volunteer')
    with op.batch_alter_table('lecturer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lecturer_org_unit_id'))

    op.drop_table('lecturer')
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index('ix_attendance_checked_in_at')
