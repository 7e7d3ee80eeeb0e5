"""deployment (worker heartbeats, backups)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 08:00:00

"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import lms.core.models  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "worker_beats",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", lms.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", lms.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_beats")),
    )
    with op.batch_alter_table("worker_beats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_worker_beats_seen_at"), ["seen_at"], unique=False)


def downgrade():
    with op.batch_alter_table("worker_beats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_beats_seen_at"))
    op.drop_table("worker_beats")
