"""Searching past conversations (issue 15): by 工单号, 户号 or the phone as the console shows it
(``139****1111`` or its last four digits). Supervisors find every hand-over, an agent only those they
handled — the same rule every read goes through (``handoffs.read_scope``) — and every search and every
read of an ended hand-over is audited. Runs on SQLite and PostgreSQL (the ``db`` fixture)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import utcnow
from bot.console import service
from bot.console.permissions import ConsoleError, Principal
from bot.domain import audit, conversation_search, handoffs, staff, tickets, transcript
from bot.domain.models import Binding
from bot.domain.pii import mask_phone
from tests.factories import PHONE_A, PHONE_B, make_account, make_contact

SENDER = "wechat:oWxTestOpenid0001"


@pytest.fixture
def history(db):
    """A bound WeChat customer with a repair ticket, served first by a1 then (a later hand-over) by
    a2, both ended; an SMS customer served by a2."""
    t0 = utcnow() - timedelta(days=3)
    with db.session() as s:
        people = {}
        for name, role in (("a1", "agent"), ("a2", "agent"), ("a3", "agent"), ("sup", "supervisor")):
            user, _password = staff.add(s, name, role, "correct-horse-battery", display_name=f"{name}-显示名")
            people[name] = Principal.of(user)
        account = make_account(s)
        contact = make_contact(s)
        s.add(Binding(contact_id=contact.id, account_id=account.id, method="sms_code"))
        ticket = tickets.create(s, "repair", "wechat", "家里停电了", contact=contact, account=account, now=t0)
        people["ticket_no"] = ticket.ticket_no
        served = []
        for agent, at in (("a1", t0), ("a2", t0 + timedelta(days=1))):
            transcript.append(s, SENDER, "wechat", "in", "customer", "转人工", now=at)
            h = handoffs.request(s, SENDER, "wechat", "asked", contact=contact, now=at)
            handoffs.take(s, h.id, staff.get(s, agent), now=at + timedelta(minutes=1))
            handoffs.finish(s, h.id, staff.get(s, agent), "handback", now=at + timedelta(minutes=9))
            served.append(h.id)
        people["first"], people["second"] = served
        sms = make_contact(s, channel="sms", external=PHONE_B)
        h = handoffs.request(s, sms.sender_id, "sms", "asked", contact=sms, now=t0)
        handoffs.take(s, h.id, staff.get(s, "a2"), now=t0 + timedelta(minutes=1))
        handoffs.finish(s, h.id, staff.get(s, "a2"), "close", now=t0 + timedelta(minutes=5))
        people["sms"] = h.id
    return db, people


def _found(db, p, who, query):
    with db.session() as s:
        return [h["id"] for h in service.search_view(s, p[who], query)["results"]]


def test_a_supervisor_finds_every_hand_over_of_a_ticket_newest_first(history):
    db, p = history
    assert _found(db, p, "sup", p["ticket_no"]) == [p["second"], p["first"]]


def test_an_agent_finds_only_the_hand_overs_they_handled(history):
    db, p = history
    assert _found(db, p, "a1", p["ticket_no"]) == [p["first"]]
    assert _found(db, p, "a2", p["ticket_no"]) == [p["second"]]
    assert _found(db, p, "a3", p["ticket_no"]) == []


def test_the_account_number_finds_the_conversations_of_whoever_is_bound_to_it(history):
    db, p = history
    assert _found(db, p, "sup", "5100000101") == [p["second"], p["first"]]
    assert _found(db, p, "a1", " 5100000101 ") == [p["first"]]
    assert _found(db, p, "sup", "5100000199") == []


def test_the_phone_is_searched_as_the_console_shows_it_masked_or_by_its_last_four_digits(history):
    db, p = history
    masked_a, masked_b = mask_phone(PHONE_A), mask_phone(PHONE_B)
    assert _found(db, p, "sup", masked_a) == [p["second"], p["first"]]  # the bound account's phone
    assert _found(db, p, "sup", masked_b) == [p["sms"]]  # an SMS customer's own number
    assert _found(db, p, "sup", PHONE_B[-4:]) == [p["sms"]]
    assert _found(db, p, "a1", PHONE_B[-4:]) == []
    assert _found(db, p, "sup", PHONE_A[:3] + "****0000") == []


def test_a_search_key_of_no_known_form_is_a_clear_400(history):
    db, p = history
    for bad in ("", "张建国", "12345", PHONE_A, "GD2026"):
        with db.session() as s, pytest.raises(ConsoleError) as caught:
            service.search_view(s, p["sup"], bad)
        assert caught.value.status == 400 and caught.value.code == "bad_search"


def test_every_search_is_audited_with_its_kind_and_hits_but_never_the_key(history):
    db, p = history
    _found(db, p, "a1", p["ticket_no"])
    _found(db, p, "sup", mask_phone(PHONE_A))
    with db.session() as s:
        entries = audit.entries(s, action="conversation.search")
        seen = sorted((e.actor, e.detail["kind"], e.detail["hits"]) for e in entries)
        assert seen == [("staff:a1", "ticket_no", 1), ("staff:sup", "masked_phone", 2)]
        assert all(p["ticket_no"] not in str(e.detail) and "****" not in str(e.detail) for e in entries)


def test_opening_a_found_conversation_is_a_read_only_audited_read(history):
    db, p = history
    (hit,) = _found(db, p, "a1", p["ticket_no"])
    with db.session() as s:
        view = service.conversation_view(s, p["a1"], hit)
    assert view["mine"] is False and view["handoff"]["status"] == "closed"
    assert [e["text"] for e in view["transcript"]] == ["转人工"]  # only a1's own window
    with db.session() as s:
        (read,) = audit.entries(s, action="conversation.read")
        assert read.actor == "staff:a1" and read.detail["handoff"] == hit


def test_the_key_forms_are_recognised():
    assert conversation_search.parse_key("gd202611300001").kind == "ticket_no"
    assert conversation_search.parse_key("139＊＊＊＊5678").value == "139****5678"
    assert conversation_search.parse_key("5678").kind == "phone_tail"
    assert conversation_search.parse_key("5100000101000").kind == "account_no"
