"""supervision: supervisors' quality checks of closed hand-overs against the checklist

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("quality_scores",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("handoff_id", sa.Integer(), nullable=False),
    sa.Column("staff_id", sa.Integer(), nullable=False),
    sa.Column("scorer", sa.String(length=60), nullable=False),
    sa.Column("items", sa.JSON(), nullable=False),
    sa.Column("score", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.id"], ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["staff_id"], ["staff_users.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("handoff_id"),
    )
    with op.batch_alter_table("quality_scores", schema=None) as batch_op:
        batch_op.create_index("ix_quality_scores_staff_id", ["staff_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quality_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_quality_scores_staff_id")
    op.drop_table("quality_scores")
