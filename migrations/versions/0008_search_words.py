"""search dictionary words

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 04:40:00

"""
from alembic import op
import sqlalchemy as sa

import lms.core.models  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_word',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('word', sa.String(length=40), nullable=False),
    sa.Column('freq', sa.Integer(), nullable=True),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], name=op.f('fk_search_word_added_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_word')),
    sa.UniqueConstraint('word', name=op.f('uq_search_word_word'))
    )


def downgrade():
    op.drop_table('search_word')
