"""Canned replies (坐席常用语, issue 15): managed by supervisors in the console (each change audited),
seeded once from the call center's file, and filled in on the server for the agent's conversation:
``{称呼}`` from the bound account's masked name, ``{工单号}`` the customer's latest ticket,
``{户号尾号}`` the bound account's last 4 digits. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.config import get_settings
from bot.console import canned, service
from bot.console.permissions import ConsoleError, Principal
from bot.domain import audit, contacts, handoffs, staff, tickets
from bot.domain.models import Binding
from tests.factories import make_account, make_contact

SEED = [{"title": "问候", "text": "{称呼}您好，我是客服，请问有什么可以帮您？"},
        {"title": "工单进度", "text": "{称呼}，您的工单{工单号}正在处理，户号尾号{户号尾号}。"}]


@pytest.fixture
def console(db):
    with db.session() as s:
        people = {}
        for name, role in (("a1", "agent"), ("sup", "supervisor")):
            user, _password = staff.add(s, name, role, "correct-horse-battery", display_name=name)
            people[name] = Principal.of(user)
    return db, people


def _titles(db, p, who="a1"):
    with db.session() as s:
        return [r["title"] for r in service.canned_list(s, p[who], SEED)["replies"]]


def test_the_file_seeds_the_replies_once_and_a_supervisors_deletion_stays(console):
    db, p = console
    assert _titles(db, p) == ["问候", "工单进度"]
    assert _titles(db, p) == ["问候", "工单进度"]  # not twice
    with db.session() as s:
        (first, second) = service.canned_list(s, p["sup"], SEED)["replies"]
        service.canned_delete(s, p["sup"], first["id"])
        service.canned_delete(s, p["sup"], second["id"])
    assert _titles(db, p) == []  # nobody wants them back at the next start


def test_supervisors_add_edit_and_delete_replies_and_each_change_is_audited(console):
    db, p = console
    with db.session() as s:
        added = service.canned_save(s, p["sup"], None, {"title": "停电致歉", "text": "非常抱歉给您带来不便。"})
        service.canned_save(s, p["sup"], added["id"], {"title": "停电致歉", "text": "{称呼}，非常抱歉给您带来不便。"})
    assert "停电致歉" in _titles(db, p)
    with db.session() as s:
        service.canned_delete(s, p["sup"], added["id"])
        actions = [(e.action, e.actor) for e in audit.entries(s) if e.action.startswith("canned_reply.")
                   and e.action != "canned_reply.seed"]
    assert sorted(actions) == [("canned_reply.add", "staff:sup"), ("canned_reply.delete", "staff:sup"),
                               ("canned_reply.edit", "staff:sup")]
    assert "停电致歉" not in _titles(db, p)


def test_agents_use_replies_but_cannot_change_them(console):
    db, p = console
    with db.session() as s, pytest.raises(ConsoleError) as caught:
        service.canned_save(s, p["a1"], None, {"title": "x", "text": "y"})
    assert caught.value.status == 403


@pytest.mark.parametrize("body, code", [({"title": "", "text": "内容"}, "canned_empty"),
                                        ({"title": "长" * 41, "text": "内容"}, "canned_too_long"),
                                        ({"title": "问候", "text": "另一条"}, "canned_duplicate")])
def test_a_bad_reply_is_refused_with_a_clear_400(console, body, code):
    db, p = console
    _titles(db, p)
    with db.session() as s, pytest.raises(ConsoleError) as caught:
        service.canned_save(s, p["sup"], None, body)
    assert (caught.value.status, caught.value.code) == (400, code)


def test_the_variables_are_filled_from_the_agents_conversation(console):
    db, p = console
    with db.session() as s:
        account = make_account(s, account_no="5100000123")
        contact = make_contact(s)
        s.add(Binding(contact_id=contact.id, account_id=account.id, method="sms_code"))
        older = tickets.create(s, "repair", "wechat", "停电", contact=contact, account=account)
        latest = tickets.create(s, "complaint", "wechat", "投诉", contact=contact, account=account)
        assert older.ticket_no != latest.ticket_no
        h = handoffs.request(s, contact.sender_id, "wechat", "asked", contact=contact)
        service.take(s, p["a1"], h.id)
        replies = service.canned_list(s, p["a1"], SEED)["replies"]
        filled = service.canned_fill(s, p["a1"], h.id, replies[1]["id"])
    assert filled == {"text": f"张先生/女士，您的工单{latest.ticket_no}正在处理，户号尾号0123。", "missing": []}


def test_a_variable_with_nothing_to_fill_stays_and_is_reported(console):
    db, p = console
    with db.session() as s:
        contact = contacts.get_or_create(s, "wechat", "oWxNoAccount0001")
        h = handoffs.request(s, contact.sender_id, "wechat", "asked", contact=contact)
        service.take(s, p["a1"], h.id)
        replies = service.canned_list(s, p["a1"], SEED)["replies"]
        filled = service.canned_fill(s, p["a1"], h.id, replies[1]["id"])
    assert filled["text"] == SEED[1]["text"] and filled["missing"] == ["称呼", "工单号", "户号尾号"]


def test_only_the_owner_fills_a_reply_for_a_conversation(console):
    db, p = console
    with db.session() as s:
        contact = make_contact(s)
        h = handoffs.request(s, contact.sender_id, "wechat", "asked", contact=contact)
        service.take(s, p["sup"], h.id)
        replies = service.canned_list(s, p["a1"], SEED)["replies"]
        with pytest.raises(ConsoleError, match="not_owner"):
            service.canned_fill(s, p["a1"], h.id, replies[0]["id"])


def test_the_repositorys_file_still_seeds_through_its_setting(console):
    db, p = console
    entries = canned.load(get_settings().console_canned_replies_file)
    with db.session() as s:
        replies = service.canned_list(s, p["a1"], entries)["replies"]
    assert [r["title"] for r in replies] == [e["title"] for e in entries] and replies
