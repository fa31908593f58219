"""ticket quality: a place to confirm by phone, a call-back number still missing, followers' numbers

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("place_to_confirm", sa.Boolean(), nullable=False, server_default=sa.text("false")))
        batch_op.add_column(sa.Column("callback_pending", sa.Boolean(), nullable=False, server_default=sa.text("false")))
    with op.batch_alter_table("ticket_followers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_phone", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket_followers", schema=None) as batch_op:
        batch_op.drop_column("callback_phone")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("callback_pending")
        batch_op.drop_column("place_to_confirm")
