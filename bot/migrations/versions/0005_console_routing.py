"""console routing and staff notes: internal notes, whispers and transfer notes (never sent to the
customer); agents' skill groups, capacity and presence; the group and priority of a hand-over;
the key-customer flag on accounts (重点关爱客户; the back office adds the same columns — keep one)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("console_notes",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("handoff_id", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=10), nullable=False),
    sa.Column("author", sa.String(length=60), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("console_notes", schema=None) as batch_op:
        batch_op.create_index("ix_console_notes_handoff_id", ["handoff_id"], unique=False)
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skill_groups", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("max_chats", sa.Integer(), nullable=False, server_default="3"))
        batch_op.add_column(sa.Column("presence", sa.String(length=10), nullable=False, server_default="online"))
        batch_op.add_column(sa.Column("auto_assign", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skill_group", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("key_customer", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("console_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_console_notes_handoff_id")
    op.drop_table("console_notes")
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_column("key_customer")
        batch_op.drop_column("skill_group")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("auto_assign")
        batch_op.drop_column("presence")
        batch_op.drop_column("max_chats")
        batch_op.drop_column("skill_groups")
