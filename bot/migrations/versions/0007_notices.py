"""notices: outages get a kind (planned | fault), a status and their changes; notices to customers (one per
person per event), notice preferences, the key customers' call list before planned outages

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("planned_outages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=10), nullable=False, server_default="planned"))
        batch_op.add_column(sa.Column("status", sa.String(length=12), nullable=False, server_default="scheduled"))
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default=sa.text("1")))
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("restored_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("updated_by", sa.String(length=80), nullable=True))

    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("event_key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("topic", sa.String(length=10), nullable=False),
        sa.Column("person_key", sa.String(length=80), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("only_if_unreached", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("template", sa.JSON(), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("not_before", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_event_key"), ["event_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_notices_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notices_account_id"), ["account_id"], unique=False)
        batch_op.create_index("ix_notices_status_not_before", ["status", "not_before"], unique=False)

    op.create_table(
        "notice_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_key", sa.String(length=80), nullable=False),
        sa.Column("topic", sa.String(length=10), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_key", "topic", name="uq_notice_preferences_person_topic"),
    )

    op.create_table(
        "outage_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_pk", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("called_at", sa.DateTime(), nullable=True),
        sa.Column("called_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(["outage_pk"], ["planned_outages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outage_pk", "account_id", name="uq_outage_calls_outage_account"),
    )
    with op.batch_alter_table("outage_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outage_calls_account_id"), ["account_id"], unique=False)

    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notice_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbound_messages_notice_id"), ["notice_id"], unique=False)
        batch_op.create_foreign_key("fk_outbound_messages_notice_id", "notices", ["notice_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_constraint("fk_outbound_messages_notice_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outbound_messages_notice_id"))
        batch_op.drop_column("notice_id")
    op.drop_table("outage_calls")
    op.drop_table("notice_preferences")
    op.drop_table("notices")
    with op.batch_alter_table("planned_outages", schema=None) as batch_op:
        for name in ("updated_by", "updated_at", "created_at", "restored_at", "cancelled_at", "cancel_reason",
                     "revision", "status", "kind"):
            batch_op.drop_column(name)
