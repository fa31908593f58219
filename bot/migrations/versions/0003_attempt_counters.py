"""attempt counters: sign-in and verification-code limits counted atomically in one table; the staff
table's own failure count and lock move there (they were read and written in two steps)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attempt_counters',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    # plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): recreating the table would cascade to sessions
    op.drop_column('staff_users', 'locked_until')
    op.drop_column('staff_users', 'failed_logins')


def downgrade() -> None:
    op.add_column('staff_users', sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('staff_users', sa.Column('locked_until', sa.DateTime(), nullable=True))
    op.drop_table('attempt_counters')
