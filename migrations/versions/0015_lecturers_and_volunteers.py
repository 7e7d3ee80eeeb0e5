"""lecturers and volunteers (讲师团, 志愿者, 后备人才库) and who taught at an activity

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 08:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import lms.core.models  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
