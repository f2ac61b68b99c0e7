"""retention: the rephrase fact kept when texts are removed; turns indexed by time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rephrased_next", sa.Boolean(), nullable=True))
        batch_op.create_index(batch_op.f("ix_turns_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_turns_created_at"))
        batch_op.drop_column("rephrased_next")
