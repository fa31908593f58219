"""the supervisors' quality checklist kept in the database (added, renamed, retired in the console;
seeded once from the service rules)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("quality_checklist_items",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("code", sa.String(length=40), nullable=False),
    sa.Column("label", sa.String(length=60), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("retired_at", sa.DateTime(), nullable=True),
    sa.Column("updated_by", sa.String(length=60), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("code")
    )


def downgrade() -> None:
    op.drop_table("quality_checklist_items")
