"""one live outcome per resident for the same offline learning

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 02:00:00

A partial unique index: a resident cannot have two pending-or-certified offline outcomes with
the same kind, title, date and hours (a double tap on the form, a retried request).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

WHERE = "status IN ('pending', 'certified') AND course_id IS NULL"


def upgrade():
    with op.batch_alter_table('learning_outcome', schema=None) as batch_op:
        batch_op.create_index(
            'ix_learning_outcome_once',
            ['user_id', 'kind', 'title', 'occurred_on', 'hours'],
            unique=True,
            sqlite_where=sa.text(WHERE),
            postgresql_where=sa.text(WHERE),
        )


def downgrade():
    with op.batch_alter_table('learning_outcome', schema=None) as batch_op:
        batch_op.drop_index('ix_learning_outcome_once')
