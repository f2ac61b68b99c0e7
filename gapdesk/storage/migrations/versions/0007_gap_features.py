"""gap_scores.features: the gap model's inputs of each scored turn, for the reports

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gap_scores") as batch_op:
        batch_op.add_column(sa.Column("features", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gap_scores") as batch_op:
        batch_op.drop_column("features")
