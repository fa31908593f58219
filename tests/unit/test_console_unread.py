"""Unread counts (issue 15): for each conversation an agent owns, the customer messages written since
the agent last looked at it. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import utcnow
from bot.console import service
from bot.console.permissions import Principal
from bot.domain import contacts, handoffs, staff, transcript


@pytest.fixture
def taken(db):
    """A WeChat customer who wrote before asking for a person, now in a1's hands."""
    with db.session() as s:
        people = {}
        for name, role in (("a1", "agent"), ("a2", "agent"), ("sup", "supervisor")):
            user, _password = staff.add(s, name, role, "correct-horse-battery", display_name=name)
            people[name] = Principal.of(user)
        contact = contacts.get_or_create(s, "wechat", "oWxUnread0001")
        transcript.append(s, contact.sender_id, "wechat", "in", "customer", "转人工", now=utcnow() - timedelta(minutes=2))
        h = handoffs.request(s, contact.sender_id, "wechat", "asked", contact=contact)
        service.take(s, people["a1"], h.id)
        people["handoff"], people["sender"] = h.id, contact.sender_id
    return db, people


def _unread(db, p, who="a1"):
    with db.session() as s:
        return {h["id"]: h["unread"] for h in service.queue_view(s, p[who])["live"]}.get(p["handoff"])


def _customer_writes(db, p, *texts):
    with db.session() as s:
        for text in texts:
            transcript.append(s, p["sender"], "wechat", "in", "customer", text)


def test_messages_the_customer_writes_after_the_take_count_until_the_agent_opens_the_conversation(taken):
    db, p = taken
    assert _unread(db, p) == 0  # what came before the take is not news
    _customer_writes(db, p, "在吗", "我家停电两个小时了")
    with db.session() as s:
        transcript.append(s, p["sender"], "wechat", "out", "agent:a1", "您好，我来看一下")  # our own words never count
    assert _unread(db, p) == 2
    with db.session() as s:
        service.conversation_view(s, p["a1"], p["handoff"])
    assert _unread(db, p) == 0


def test_polling_the_open_conversation_keeps_it_read(taken):
    db, p = taken
    with db.session() as s:
        last = service.conversation_view(s, p["a1"], p["handoff"])["transcript"][-1]["id"]
    _customer_writes(db, p, "还没来电")
    assert _unread(db, p) == 1
    with db.session() as s:
        assert [e["text"] for e in service.transcript_since(s, p["a1"], p["handoff"], last)["entries"]] == ["还没来电"]
    assert _unread(db, p) == 0


def test_a_supervisor_reading_along_does_not_mark_the_agents_messages_read(taken):
    db, p = taken
    _customer_writes(db, p, "有人吗")
    with db.session() as s:
        service.conversation_view(s, p["sup"], p["handoff"])
    assert _unread(db, p) == 1


def test_a_conversation_transferred_to_a_colleague_counts_from_the_transfer_for_them(taken):
    db, p = taken
    _customer_writes(db, p, "电费怎么算的")
    with db.session() as s:
        service.transfer(s, p["a1"], p["handoff"], {"to_agent": "a2", "note": "电费问题请二号跟进"})
    assert _unread(db, p, "a2") == 0
    _customer_writes(db, p, "好的")
    assert _unread(db, p, "a2") == 1
