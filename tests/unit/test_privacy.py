"""Personal-data lifecycle (个人信息保护法 art. 45, 47): a customer's data can be exported and erased,
and conversations, trackers and messages sent are pruned after the retention period.

"Nothing is left" is checked the hard way: every column of every row of every table (and Rasa's tracker
events) is read, encrypted values are decrypted, and neither the customer's identifiers in clear nor
their lookup hashes may appear. The account itself is the marketing system's record and stays.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy import MetaData, func, insert, select

from bot.db import get_engine
from bot.domain import audit, contacts, handoffs, notices, privacy, tickets, transcript
from bot.domain.models import (
    AttemptCounter,
    AuditEntry,
    Binding,
    ConsoleNote,
    Notice,
    OutboundMessage,
    SatisfactionRating,
    StaffUser,
    Ticket,
    TicketEvent,
    TranscriptEntry,
    VerificationCode,
)
from bot.domain.pii import cipher, phone_hash
from bot.domain.places import Place
from bot.messaging import outbox
from tests.factories import PHONE_A, PHONE_B, make_account, make_contact

OPENID = "oWxEraseOpenid0001"
OTHER_OPENID = "oWxKeptOpenid0002"
NOW = datetime(2026, 11, 30, 8, 0)
MARK = "东关村12号后院电线杆倒了"  # a description only this customer wrote
EVENTS = SQLTrackerStore.SQLEvent.__table__


def _tracker_event(s, sender_id: str, text: str, at: datetime) -> None:
    EVENTS.create(s.connection(), checkfirst=True)
    s.execute(insert(EVENTS).values(sender_id=sender_id, type_name="user", timestamp=at.timestamp(),
                                    intent_name="report_outage", action_name=None,
                                    data=json.dumps({"event": "user", "text": text}, ensure_ascii=False)))


def _customer_with_everything(s):
    """An account holder on WeChat and SMS: bound, with codes, a ticket, a hand-over, messages, a tracker."""
    account = make_account(s, "5100000101", name="张建国", phone=PHONE_A)
    wechat = make_contact(s, "wechat", OPENID)
    sms = contacts.get_or_create(s, "sms", PHONE_A)
    for contact in (wechat, sms):
        s.add(Binding(contact_id=contact.id, account_id=account.id, method="sms_code", verified_at=NOW))
    s.add(VerificationCode(contact_id=wechat.id, account_id=account.id, code_hash=cipher().lookup_hash("otp:x"),
                           created_at=NOW, expires_at=NOW + timedelta(minutes=5)))
    s.add(AttemptCounter(name=f"otp-phone-d:{account.phone_hash[:40]}", window_start=NOW, tries=1))
    s.add(AttemptCounter(name=f"bind-sender:{wechat.id}", window_start=NOW, tries=1))
    ticket = tickets.create(s, "repair", "wechat", description=MARK, contact=wechat, account=account,
                            place=Place("城关镇", "东关村", "urban"), address="城关镇东关村12号",
                            callback_phone=PHONE_A, source_key=f"{wechat.sender_id}:m1", now=NOW)
    s.add(TicketEvent(ticket_id=ticket.id, at=NOW, status="dispatched", note=f"已电话联系{PHONE_A}",
                      actor=f"customer:{wechat.sender_id}"))
    tickets.attach(s, ticket, "location", "39.35,114.69 涞源县城关镇东关村12号", f"customer:{wechat.sender_id}")
    handoff = handoffs.request(s, wechat.sender_id, "wechat", "asked", contact=wechat, now=NOW)
    agent = StaffUser(username="a1", display_name="坐席一", role="agent", password_hash="x")
    s.add(agent)
    s.flush()
    s.add(ConsoleNote(handoff_id=handoff.id, kind="note", author="staff:a1", text=f"客户张建国 {PHONE_A}"))
    s.add(SatisfactionRating(contact_id=wechat.id, sender_id=wechat.sender_id, score=5, created_at=NOW))
    transcript.append(s, wechat.sender_id, "wechat", "in", "customer", f"我家{MARK}", now=NOW)
    transcript.append(s, sms.sender_id, "sms", "in", "customer", "停电了", now=NOW)
    outbox.record(s, "wechat", "agent", OPENID, "张师傅马上到", contact_id=wechat.id, now=NOW)
    outbox.record(s, "demo_sms", "otp", PHONE_A, "验证码 123456", now=NOW)
    _tracker_event(s, wechat.sender_id, f"我的电话{PHONE_A}", NOW)
    _tracker_event(s, sms.sender_id, "停电了", NOW)
    s.add(Notice(key=f"ticket-event:1|w:{wechat.id}", event_key="ticket-event:1", kind="dispatched", topic="ticket",
                 person_key=f"w:{wechat.id}", contact_id=wechat.id, account_id=account.id, phone=PHONE_A,
                 text=f"您报修的{MARK}已派单", not_before=NOW, status="pending", created_at=NOW))
    notices.set_preference(s, notices.person_of_contact(sms), "outage", False, now=NOW)
    audit.record(s, f"customer:{wechat.sender_id}", "handoff.request", "conversation", wechat.sender_id)
    return account, wechat, sms, ticket


def _someone_else(s):
    account = make_account(s, "5100000102", name="李秀英", phone=PHONE_B)
    other = make_contact(s, "wechat", OTHER_OPENID)
    s.add(Binding(contact_id=other.id, account_id=account.id, method="sms_code", verified_at=NOW))
    transcript.append(s, other.sender_id, "wechat", "in", "customer", "电费多少", now=NOW)
    outbox.record(s, "demo_sms", "otp", PHONE_B, "验证码 654321", now=NOW)
    _tracker_event(s, other.sender_id, "电费多少", NOW)
    return other


def _everything_readable(url: str, skip=("accounts", "bills", "alembic_version")):
    """(table, column, value as text, decrypted when it is a Fernet token) of every cell."""
    engine = get_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        for name, table in meta.tables.items():
            if name in skip:
                continue
            for row in conn.execute(select(table)):
                for column, value in row._mapping.items():
                    if value is None:
                        continue
                    text_value = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
                    if text_value.startswith("gAAAAA"):
                        text_value = cipher().decrypt(text_value)
                    yield name, column, text_value


def _leftovers(url: str, needles: dict) -> list:
    return [(table, column, what) for table, column, value in _everything_readable(url)
            for what, needle in needles.items() if needle in value]


def test_erasing_by_account_number_leaves_nothing_of_the_customer_in_any_table_tracker_or_outbox(db):
    with db.session() as s:
        account, wechat, sms, ticket = _customer_with_everything(s)
        other = _someone_else(s)
        ticket_no = ticket.ticket_no
        needles = {
            "openid": OPENID, "phone": PHONE_A, "wechat sender id": wechat.sender_id, "sms sender id": sms.sender_id,
            "description": MARK, "address": "东关村12号", "name": "张建国",
            "phone lookup hash": phone_hash(PHONE_A), "phone hash prefix": account.phone_hash[:40],
            "wechat lookup hash": wechat.external_hash, "sms lookup hash": sms.external_hash,
            "wechat outbox hash": outbox.recipient_hash("wechat", OPENID),
            "sms outbox hash": outbox.recipient_hash("demo_sms", PHONE_A),
        }
        audit_before = s.scalar(select(func.count()).select_from(AuditEntry))
    assert {what for _table, _column, what in _leftovers(db.url, needles)} == set(needles)  # the scan sees each

    with db.session() as s:
        counts = privacy.erase(s, privacy.find(s, account_no="5100000101"), actor="cli:erase-customer", now=NOW)
    assert counts["contacts"] == 2 and counts["tracker_events"] == 2

    assert _leftovers(db.url, needles) == []
    with db.session() as s:
        kept = s.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no))
        assert (kept.type, kept.status, kept.township, kept.village, kept.created_at) == (
            "repair", "open", "城关镇", "东关村", NOW)
        assert (kept.description, kept.callback_phone, kept.address, kept.account_id) == ("", None, None, None)
        assert s.scalar(select(func.count()).select_from(OutboundMessage)) == 3  # kept for delivery statistics
        assert s.scalar(select(func.count()).select_from(SatisfactionRating)) == 1
        entries = audit.entries(s, limit=1000)
        assert len(entries) == audit_before + 1
        erasure = entries[0]
        assert (erasure.action, erasure.actor, erasure.target_id) == (
            "customer.erase", "cli:erase-customer", audit.subject("account:5100000101"))
        # someone else's data is untouched
        assert s.scalars(select(TranscriptEntry.text).where(TranscriptEntry.sender_id == other.sender_id)).all() == [
            "电费多少"]
        assert s.scalar(select(func.count()).select_from(Binding)) == 1
        assert s.scalar(select(func.count()).select_from(EVENTS).where(EVENTS.c.sender_id == other.sender_id)) == 1
        assert s.scalar(select(OutboundMessage.body).where(
            OutboundMessage.recipient_hash == outbox.recipient_hash("demo_sms", PHONE_B))) == "验证码 654321"


def test_erasing_by_sender_id_removes_that_conversation_and_keeps_the_account_holders_other_channel(db):
    with db.session() as s:
        _account, wechat, sms, _ticket = _customer_with_everything(s)
        wechat_sender, sms_sender = wechat.sender_id, sms.sender_id
    with db.session() as s:
        privacy.erase(s, privacy.find(s, sender_id=wechat_sender), actor="cli:erase-customer", now=NOW)
    assert _leftovers(db.url, {"openid": OPENID, "sender id": wechat_sender, "description": MARK}) == []
    with db.session() as s:
        assert s.scalars(select(TranscriptEntry.sender_id)).all() == [sms_sender]
        assert s.scalar(select(func.count()).select_from(VerificationCode)) == 0


def test_an_export_holds_everything_decrypted_and_is_audited(db):
    with db.session() as s:
        _customer_with_everything(s)
    with db.session() as s:
        data = privacy.export(s, privacy.find(s, account_no="5100000101"), actor="cli:export-customer")
    assert data["account"]["phone"] == PHONE_A, "decrypted phone missing"  # compared, never printed
    assert {c["external_id"] for c in data["contacts"]} == {OPENID, PHONE_A}
    assert data["tickets"][0]["description"] == MARK and len(data["transcript"]) == 2
    assert len(data["messages_sent"]) == 2 and data["tracker_events"] == 2
    with db.session() as s:
        assert audit.entries(s, action="customer.export")[0].target_id == audit.subject("account:5100000101")


def test_an_unknown_customer_is_reported_not_erased(db):
    with db.session() as s:
        with pytest.raises(privacy.CustomerNotFound):
            privacy.find(s, account_no="5100009999")
        with pytest.raises(privacy.CustomerNotFound):
            privacy.find(s, sender_id="wechat:oWxNobody")


def test_prune_removes_transcripts_trackers_and_outbox_bodies_older_than_the_retention(db):
    now = datetime(2026, 11, 30, 8, 0)
    old, recent = now - timedelta(days=181), now - timedelta(days=179)
    with db.session() as s:
        contact = make_contact(s, "wechat", OPENID)
        for at, text in ((old, "半年前的话"), (recent, "最近的话")):
            transcript.append(s, contact.sender_id, "wechat", "in", "customer", text, now=at)
            _tracker_event(s, contact.sender_id, text, at)
            outbox.record(s, "wechat", "reply", OPENID, text, contact_id=contact.id, now=at)
        audit.record(s, "staff:a", "pii.reveal", "account", "5100000101", now=old)
    with db.session() as s:
        result = privacy.prune(s, retention_days=180, now=now)
    assert (result.transcript, result.tracker_events, result.outbox_bodies) == (1, 1, 1)
    with db.session() as s:
        assert s.scalars(select(TranscriptEntry.text)).all() == ["最近的话"]
        assert [json.loads(d)["text"] for d in s.scalars(select(EVENTS.c.data))] == ["最近的话"]
        assert sorted(s.scalars(select(OutboundMessage.body))) == ["", "最近的话"]
        assert [e.action for e in audit.entries(s)] == ["data.prune", "pii.reveal"]  # the audit log is kept
    with db.session() as s:  # a second run finds nothing more
        again = privacy.prune(s, retention_days=180, now=now)
    assert (again.transcript, again.tracker_events, again.outbox_bodies) == (0, 0, 0)


def _bot(db, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *argv], env={**os.environ, "DATABASE_URL": db.url},
                          capture_output=True, text=True, timeout=120)


def test_the_operator_commands_export_erase_and_prune(db, tmp_path):
    with db.session() as s:
        _customer_with_everything(s)
    out = tmp_path / "customer.json"
    exported = _bot(db, "export-customer", "--account", "5100000101", "--out", str(out))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert out.stat().st_mode & 0o077 == 0 and json.loads(out.read_text())["tickets"][0]["description"] == MARK
    unconfirmed = _bot(db, "erase-customer", "--sender", f"wechat:{OPENID}")
    assert (unconfirmed.returncode, unconfirmed.stdout.strip()) == (1, "refused: erasing cannot be undone; add --confirm")
    erased = _bot(db, "erase-customer", "--sender", f"wechat:{OPENID}", "--confirm")
    assert erased.returncode == 0 and erased.stdout.startswith("erased: "), erased.stdout + erased.stderr
    assert _bot(db, "erase-customer", "--sender", f"wechat:{OPENID}", "--confirm").returncode == 1  # gone
    pruned = _bot(db, "prune")
    assert pruned.returncode == 0 and "older than 180 days" in pruned.stdout, pruned.stdout + pruned.stderr
    too_short = subprocess.run([sys.executable, "-m", "bot.cli", "prune"], capture_output=True, text=True,
                               env={**os.environ, "DATABASE_URL": db.url, "AUDIT_RETENTION_DAYS": "90"}, timeout=120)
    assert too_short.returncode == 2 and "AUDIT_RETENTION_DAYS" in too_short.stderr
