"""canned replies kept in the database (managed by supervisors, seeded from the file once); the last
transcript entry the owning agent has seen, for unread counts

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("canned_replies",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("title", sa.String(length=40), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("updated_by", sa.String(length=60), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("title")
    )
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_seen_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_column("owner_seen_id")
    op.drop_table("canned_replies")
