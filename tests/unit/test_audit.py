"""The audit log is append-only at the database: no client can change or delete an entry."""

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DatabaseError

from bot.domain import audit
from bot.domain.models import AuditEntry


def test_entries_can_be_added_and_read_newest_first(db):
    with db.session() as s:
        audit.record(s, "staff:a", "pii.reveal", "contact", 1, reason="核实身份")
        audit.record(s, "staff:b", "conversation.take", "conversation", "wechat:o1")
    with db.session() as s:
        assert [e.action for e in audit.entries(s)] == ["conversation.take", "pii.reveal"]
        assert audit.entries(s, actor="staff:a")[0].detail == {"reason": "核实身份"}


@pytest.mark.parametrize(
    "statement",
    [
        update(AuditEntry).values(actor="someone else"),
        delete(AuditEntry),
    ],
    ids=["update", "delete"],
)
def test_update_and_delete_are_refused(db, statement):
    with db.session() as s:
        audit.record(s, "staff:a", "pii.reveal", "contact", 1)
    with pytest.raises(DatabaseError, match="append-only"):
        with db.session() as s:
            s.execute(statement)
    with db.session() as s:
        assert [e.actor for e in audit.entries(s)] == ["staff:a"]


def test_truncate_is_refused_on_postgresql(db):
    if db.backend != "postgresql":
        return  # SQLite has no TRUNCATE statement
    with pytest.raises(DatabaseError, match="append-only"):
        with db.session() as s:
            s.execute(text("TRUNCATE audit_log"))


def test_a_customers_conversation_id_is_written_as_a_pseudonym_never_in_clear(db):
    sender = "wechat:oWxAuditOpenid0001"
    with db.session() as s:
        audit.record(s, f"customer:{sender}", "handoff.request", "conversation", sender)
        audit.record(s, "staff:a", "conversation.take", "conversation", sender)
    with db.session() as s:
        entries = audit.entries(s)
        assert {e.target_id for e in entries} == {audit.subject(sender)}
        assert entries[1].actor == audit.customer_actor(sender)
        assert all("oWxAuditOpenid0001" not in f"{e.actor}{e.target_id}{e.detail}" for e in entries)
