"""What the console does with the records, per role: the queue, one owner per conversation, masked
personal data with audited reveals, tickets, staff management and the read-only audit log.

These run on SQLite and PostgreSQL; the HTTP layer on top is tested against the running bot in
tests/integration/test_console_http.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import utcnow
from bot.console import service, sessions
from bot.console.permissions import ConsoleError, Principal
from bot.domain import audit, handoffs, staff, transcript
from bot.domain.models import Binding, Handoff, Ticket
from bot.messaging.deliver import Delivery
from tests.factories import PHONE_A, make_account, make_bill, make_contact

LIFE = sessions.Lifetimes(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
SENDER = "wechat:oWxTestOpenid0001"


@pytest.fixture
def world(db):
    """Four staff users, a WeChat customer bound to an account with arrears, waiting for an agent."""
    with db.session() as s:
        people = {}
        for name, role in (("a1", "agent"), ("a2", "agent"), ("sup", "supervisor"), ("adm", "admin")):
            user, _password = staff.add(s, name, role, "correct-horse-battery", display_name=f"{name}-显示名")
            people[name] = Principal.of(user)
        account = make_account(s, balance="-52.10")
        make_bill(s, account, "2026-09", 150)
        make_bill(s, account, "2026-10", 210, paid=False)
        contact = make_contact(s)
        s.add(Binding(contact_id=contact.id, account_id=account.id, method="sms_code"))
        transcript.append(s, SENDER, "wechat", "in", "customer", f"我的电话是{PHONE_A}，转人工")
        handoff = handoffs.request(s, SENDER, "wechat", "asked", contact=contact, last_intent="query_bill")
        people["handoff"] = handoff.id
    return db, people


def _denied(code: str):
    return pytest.raises(ConsoleError, match=code)


def test_the_queue_shows_why_where_and_how_long_with_the_customer_masked(world):
    db, p = world
    with db.session() as s:
        view = service.queue_view(s, p["a1"], now=utcnow() + timedelta(seconds=90))
    (item,) = view["waiting"]
    assert item["reason"] == "asked" and item["channel"] == "wechat" and item["last_intent"] == "query_bill"
    assert item["waited_s"] >= 90 and item["position"] == 1
    assert item["customer"]["name"] == "张**" and view["live"] == []


def test_agents_see_their_own_live_conversations_and_supervisors_all(world):
    db, p = world
    with db.session() as s:
        service.take(s, p["a1"], p["handoff"])
    with db.session() as s:
        assert [h["owner_username"] for h in service.queue_view(s, p["a1"])["live"]] == ["a1"]
        assert service.queue_view(s, p["a2"])["live"] == []
        assert [h["owner"] for h in service.queue_view(s, p["sup"])["live"]] == ["a1-显示名"]
        with _denied("not_owner"):
            service.conversation_view(s, p["a2"], p["handoff"])
        assert service.conversation_view(s, p["sup"], p["handoff"])["mine"] is False


def test_the_conversation_shows_accounts_masked_with_bills_arrears_and_tickets(world):
    db, p = world
    with db.session() as s:
        service.take(s, p["a1"], p["handoff"])
        view = service.conversation_view(s, p["a1"], p["handoff"])
    assert view["mine"] is True
    (account,) = view["accounts"]
    assert account["name"] == "张**" and account["phone"] == "139****1111"
    assert account["latest_bill"]["period"] == "2026-10" and account["latest_bill"]["paid"] is False
    assert account["arrears"]["periods"] == ["2026-10"] and account["balance"] == "-52.10"
    # what the customer typed is masked too
    leaked = PHONE_A in str(view)  # (compared outside the assert: a failure must not print the number)
    assert not leaked and "139****1111" in view["transcript"][0]["text"]


def test_one_owner_at_a_time_and_supervisors_take_over(world):
    db, p = world
    with db.session() as s:
        conv = service.take(s, p["a1"], p["handoff"])
        assert conv.notify and conv.sender_id == SENDER
    with db.session() as s:
        with pytest.raises(ConsoleError) as refused:
            service.take(s, p["a2"], p["handoff"])
        assert refused.value.status == 409 and refused.value.info["owner"] == "a1-显示名"
        assert refused.value.message == "该会话已由a1-显示名接管"
        with _denied("forbidden"):
            service.take(s, p["a2"], p["handoff"], force=True)  # agents cannot force
        again = service.take(s, p["a1"], p["handoff"])  # a retry by the owner changes nothing
        assert not again.notify
    with db.session() as s:
        assert not service.take(s, p["sup"], p["handoff"], force=True).notify
    with db.session() as s:
        assert s.get(Handoff, p["handoff"]).owner.username == "sup"
        with _denied("not_owner"):
            service.owned(s, p["a1"], p["handoff"], "conversation.reply")
        takes = audit.entries(s, action="conversation.take")
        assert [(e.actor, e.detail["forced"]) for e in takes] == [("staff:sup", True), ("staff:a1", False)]


def test_admins_do_not_take_conversations(world):
    db, p = world
    with db.session() as s:
        with _denied("forbidden"):
            service.take(s, p["adm"], p["handoff"])


def test_only_supervisors_reveal_and_only_with_a_reason_which_is_audited(world):
    db, p = world
    body = {"account_no": "5100000101", "field": "phone", "reason": "客户要求回电核实"}
    with db.session() as s:
        with _denied("forbidden"):
            service.reveal(s, p["a1"], p["handoff"], body)
        with _denied("reason_required"):
            service.reveal(s, p["sup"], p["handoff"], {**body, "reason": " "})
        with _denied("bad_field"):
            service.reveal(s, p["sup"], p["handoff"], {**body, "field": "address"})
        with _denied("not_bound"):
            service.reveal(s, p["sup"], p["handoff"], {**body, "account_no": "5100000199"})
    with db.session() as s:
        revealed = service.reveal(s, p["sup"], p["handoff"], body)["value"] == PHONE_A
        assert revealed
        assert service.reveal(s, p["sup"], p["handoff"], {**body, "field": "name"})["value"] == "张建国"
    with db.session() as s:
        reveals = audit.entries(s, action="pii.reveal")
        assert [(e.actor, e.target_id, e.detail["field"], e.detail["reason"]) for e in reveals] == [
            ("staff:sup", "5100000101", "name", "客户要求回电核实"),
            ("staff:sup", "5100000101", "phone", "客户要求回电核实"),
        ]
        assert all(PHONE_A not in str(e.detail) for e in audit.entries(s))


def test_replies_hand_back_and_close_are_the_owners_and_audited(world):
    db, p = world
    with db.session() as s:
        conv = service.take(s, p["a1"], p["handoff"])
    with db.session() as s:
        with _denied("not_owner"):
            service.owned(s, p["a2"], p["handoff"], "conversation.reply")
        entry = service.record_reply(s, p["a1"], conv, "您好，我来帮您查", Delivery("wechat", "sent"))
        assert entry["author"] == "agent:a1"
    with db.session() as s:
        with _denied("not_owner"):
            service.finish(s, p["a2"], p["handoff"], "close")
        service.finish(s, p["a1"], p["handoff"], "close")
    with db.session() as s:
        assert handoffs.awaiting_rating(s, SENDER).id == p["handoff"]
        with _denied("closed"):
            service.owned(s, p["a1"], p["handoff"], "conversation.reply")
        actions = [(e.actor, e.action) for e in reversed(audit.entries(s)) if e.action.startswith("conversation.")]
        assert actions == [("staff:a1", "conversation.take"), ("staff:a1", "conversation.reply"),
                           ("staff:a1", "conversation.close")]
        assert audit.entries(s, action="conversation.reply")[0].detail["delivery"] == "wechat/sent"


def test_agents_open_and_update_tickets_for_the_customer_they_serve(world):
    db, p = world
    with db.session() as s:
        with _denied("not_taken"):
            service.create_ticket(s, p["a1"], p["handoff"], {"type": "complaint", "description": "抄表不准"})
        service.take(s, p["a1"], p["handoff"])
    with db.session() as s:
        with _denied("bad_type"):
            service.create_ticket(s, p["a1"], p["handoff"], {"type": "party", "description": "x"})
        with _denied("not_bound"):
            service.create_ticket(s, p["a1"], p["handoff"], {"type": "meter", "description": "x",
                                                              "account_no": "5100000199"})
        ticket = service.create_ticket(s, p["a1"], p["handoff"], {"type": "meter", "description": "电表走得快",
                                                                   "account_no": "5100000101"})
    with db.session() as s:  # status belongs to dispatchers: the agent corrects and notes instead
        with _denied("forbidden"):
            service.set_ticket_status(s, p["a1"], p["handoff"], ticket["ticket_no"], {"status": "dispatched"})
    with db.session() as s:
        row = s.query(Ticket).one()
        assert row.status == "open" and row.account.account_no == "5100000101"
        assert [(e.actor, e.action) for e in reversed(audit.entries(s)) if e.action.startswith("ticket.")] == [
            ("staff:a1", "ticket.create")]
        view = service.conversation_view(s, p["a1"], p["handoff"])
        assert view["accounts"][0]["open_tickets"][0]["ticket_no"] == ticket["ticket_no"]


def test_the_audit_log_is_for_supervisors_and_admins(world):
    db, p = world
    with db.session() as s:
        with _denied("forbidden"):
            service.audit_view(s, p["a1"], {})
        entries = service.audit_view(s, p["sup"], {"action": "staff.add"})["entries"]
        assert [e["target_id"] for e in entries] == ["adm", "sup", "a2", "a1"]
        page = service.audit_view(s, p["adm"], {"action": "staff.add", "before": str(entries[1]["id"])})
        assert [e["target_id"] for e in page["entries"]] == ["a2", "a1"]


def test_admins_manage_staff_and_nobody_else_does(world):
    db, p = world
    with db.session() as s:
        for who in ("a1", "sup"):
            with _denied("forbidden"):
                service.staff_list(s, p[who])
            with _denied("forbidden"):
                service.staff_add(s, p[who], {"username": "x", "role": "admin"})
        created = service.staff_add(s, p["adm"], {"username": "a3", "role": "agent", "display_name": "王坐席"})
        assert len(created["password"]) >= 12 and created["user"]["active"]
        with _denied("refused"):
            service.staff_add(s, p["adm"], {"username": "a3", "role": "agent"})
        with _denied("self"):
            service.staff_set_active(s, p["adm"], "adm", False)
        token, _row = sessions.create(s, staff.get(s, "a3"), LIFE)
    with db.session() as s:
        service.staff_set_active(s, p["adm"], "a3", False)
    with db.session() as s:
        assert sessions.load(s, token, LIFE) is None
        with pytest.raises(staff.StaffError):
            staff.authenticate(s, "a3", created["password"])
    with db.session() as s:
        service.staff_set_active(s, p["adm"], "a3", True)
        password = service.staff_reset_password(s, p["adm"], "a3")["password"]
    with db.session() as s:
        assert staff.authenticate(s, "a3", password).username == "a3"
        assert [u["username"] for u in service.staff_list(s, p["adm"])["staff"]] == ["a1", "a2", "a3", "adm", "sup"]
        actions = [e.action for e in reversed(audit.entries(s, actor="staff:adm"))]
        assert actions == ["staff.add", "staff.disable", "staff.enable", "staff.reset_password"]
