"""back office: crews, ticket crew/ETA/merge/urge/escalation marks, ticket notes, key customers,
integration events (idempotency of the dispatch system's ticket events), inspections, kept photos

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("township", sa.String(length=40), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crew_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("eta", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("urge_count", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch_op.add_column(sa.Column("last_urged_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("at_risk_flagged_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_crew_id"), ["crew_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_merged_into_id"), ["merged_into_id"], unique=False)
        batch_op.create_foreign_key("fk_tickets_crew_id_crews", "crews", ["crew_id"], ["id"])
        batch_op.create_foreign_key("fk_tickets_merged_into_id_tickets", "tickets", ["merged_into_id"], ["id"])

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_customer", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch_op.add_column(sa.Column("key_customer_reason", sa.String(length=100), nullable=True))

    with op.batch_alter_table("ticket_attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stored_file", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("content_type", sa.String(length=60), nullable=True))

    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_notes_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "integration_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("ticket_no", sa.String(length=20), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("system", "event_id", name="uq_integration_events_system_event"),
    )

    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("equipment_kind", sa.String(length=12), nullable=False),
        sa.Column("equipment_ref", sa.String(length=100), nullable=False),
        sa.Column("readings", sa.JSON(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("latitude", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("longitude", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("inspector", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspections_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_table("inspections")
    op.drop_table("integration_events")
    op.drop_table("ticket_notes")
    with op.batch_alter_table("ticket_attachments", schema=None) as batch_op:
        batch_op.drop_column("content_type")
        batch_op.drop_column("stored_file")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("key_customer_reason")
        batch_op.drop_column("key_customer")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint("fk_tickets_merged_into_id_tickets", type_="foreignkey")
        batch_op.drop_constraint("fk_tickets_crew_id_crews", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_tickets_merged_into_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_crew_id"))
        for column in ("escalated_at", "at_risk_flagged_at", "last_urged_at", "urge_count", "merged_into_id",
                       "eta", "crew_id"):
            batch_op.drop_column(column)
    op.drop_table("crews")
