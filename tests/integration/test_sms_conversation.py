"""SMS with the running bot: Twilio (the local fake) posts signed messages to /webhooks/sms/webhook and
the bot answers in TwiML; what the bot sends on its own goes through the fake Twilio REST API, whose
signed status callbacks the bot records."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from decimal import Decimal
from typing import Iterator, List, Tuple
from xml.etree import ElementTree

import pytest
from sqlalchemy import or_, select

from bot import messages
from bot.config import get_settings, load_settings
from bot.db import session_scope
from bot.domain import contacts, transcript
from bot.domain.models import (
    Account,
    Bill,
    Binding,
    Contact,
    OutboundMessage,
    OutboundStatusEvent,
    Ticket,
    TicketFollower,
)
from bot.messaging.deliver import send_to_conversation
from bot.messaging.twilio_sms import TwilioSmsSender
from tests.fakes.twilio import FakeTwilioApi

pytestmark = pytest.mark.rasa

REGISTERED = "13900001111"  # account 5100000101 in tests/integration/records.py


def say(bot, fake: FakeTwilioApi, phone: str, text: str, **kw) -> Tuple[int, List[str]]:
    """Text the bot from ``phone``; (HTTP status, the SMS bodies of the TwiML reply)."""
    status, body = fake.send_sms(bot.url, bot.env["PUBLIC_BASE_URL"], "+86" + phone, text, **kw)
    if status != 200:
        return status, [body]
    root = ElementTree.fromstring(body.encode())
    assert root.tag == "Response", body
    return status, [m.text or "" for m in root.findall("Message")]


def reply(bot, fake: FakeTwilioApi, phone: str, text: str) -> str:
    status, bodies = say(bot, fake, phone, text)
    assert status == 200 and len(bodies) == 1, (text, status, bodies)
    return bodies[0]


@contextlib.contextmanager
def this_process_on(database_url: str) -> Iterator[None]:
    """Run product code in the test process against the bot's database (senders open their own sessions)."""
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database_url
    get_settings.cache_clear()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old
        get_settings.cache_clear()


def contact_of(records_db: str, phone: str) -> Contact | None:
    with session_scope(records_db) as s:
        return contacts.by_sender(s, contacts.sender_id_for("sms", phone))


def test_a_greeting_is_answered_in_twiml(bot, fake_twilio_api):
    text = reply(bot, fake_twilio_api, "13700000001", "你好")
    assert "智能客服" in text


def test_wrong_or_missing_signatures_get_403_and_no_reply(bot, fake_twilio_api, records_db):
    phone = "13700000002"
    before = fake_twilio_api.requests
    for signature in (None, "", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "not-a-signature"):
        status, _ = say(bot, fake_twilio_api, phone, "查电费", signature=signature)
        assert status == 403, signature
    # signed, but not over the public URL Twilio called
    params = fake_twilio_api.inbound_params("+86" + phone, "查电费")
    status, _ = fake_twilio_api.send_sms(bot.url, "https://elsewhere.example.cn", "", "", params=params)
    assert status == 403
    assert fake_twilio_api.requests == before and fake_twilio_api.messages(to="+86" + phone) == []
    assert contact_of(records_db, phone) is None
    with session_scope(records_db) as s:
        assert transcript.since(s, contacts.sender_id_for("sms", phone)) == []


def test_a_message_without_sender_or_body_is_a_bad_request(bot, fake_twilio_api):
    params = fake_twilio_api.inbound_params("+8613700000003", "你好")
    del params["Body"]
    assert fake_twilio_api.send_sms(bot.url, bot.env["PUBLIC_BASE_URL"], "", "", params=params)[0] == 400
    params = fake_twilio_api.inbound_params("+8613700000003", "你好")
    del params["From"]
    assert fake_twilio_api.send_sms(bot.url, bot.env["PUBLIC_BASE_URL"], "", "", params=params)[0] == 400


def test_twilio_retrying_a_message_gets_one_answer(bot, fake_twilio_api, records_db):
    phone, sid = "13700000004", "SM" + uuid.uuid4().hex
    assert say(bot, fake_twilio_api, phone, "电费怎么交", message_sid=sid)[1]
    assert say(bot, fake_twilio_api, phone, "电费怎么交", message_sid=sid) == (200, [])
    with session_scope(records_db) as s:
        entries = transcript.since(s, contacts.sender_id_for("sms", phone))
        assert [e.direction for e in entries] == ["in", "out"]


def _latest_bill_amount(records_db: str, account_no: str) -> Decimal:
    with session_scope(records_db) as s:
        account = s.scalar(select(Account).where(Account.account_no == account_no))
        return s.scalar(select(Bill.amount).where(Bill.account_id == account.id).order_by(Bill.period.desc()).limit(1))


def _ticket_of(records_db: str, contact_id: int) -> Ticket | None:
    with session_scope(records_db) as s:
        followed = select(TicketFollower.ticket_id).where(TicketFollower.contact_id == contact_id)
        return s.scalar(select(Ticket).where(or_(Ticket.contact_id == contact_id, Ticket.id.in_(followed)))
                        .order_by(Ticket.id.desc()).limit(1))


def test_a_whole_conversation_over_sms(bot, fake_twilio_api, records_db):
    fake, phone, e164 = fake_twilio_api, REGISTERED, "+86" + REGISTERED

    # 1. the bill, asked from the phone registered on account 5100000101: no verification code needed
    answer = reply(bot, fake, phone, "查电费")
    amount = _latest_bill_amount(records_db, "5100000101")
    assert f"{amount:.2f}" in answer, answer
    contact = contact_of(records_db, phone)
    with session_scope(records_db) as s:
        methods = s.scalars(select(Binding.method).where(Binding.contact_id == contact.id)).all()
    assert methods == ["phone_match"]

    # 2. an outage report: the bot asks what it needs, and a repair ticket is opened
    answer = reply(bot, fake, phone, "家里停电了")
    for _ in range(4):
        ticket = _ticket_of(records_db, contact.id)
        if ticket is not None:
            break
        if re.search(r"哪里|地址|位置|序号", answer):
            answer = reply(bot, fake, phone, "城关镇东关村12号")
        else:
            answer = reply(bot, fake, phone, "全村都停电了，空开没跳")
    assert ticket is not None and ticket.type == "repair", answer
    assert ticket.ticket_no in answer

    # 3. opt-out: one confirmation, then nothing reaches the number — from any sender
    assert reply(bot, fake, phone, "退订") == messages.SMS_OPTED_OUT
    assert contact_of(records_db, phone).active is False
    before = fake.requests
    twilio = TwilioSmsSender(load_settings({**fake.bot_env(), "PUBLIC_BASE_URL": bot.env["PUBLIC_BASE_URL"]}))
    with this_process_on(records_db):
        assert asyncio.run(twilio.send(phone, "您的验证码为123456", purpose="otp")).status == "suppressed"
        assert asyncio.run(send_to_conversation(contact.sender_id, "人工客服回复", "agent")).status == "suppressed"
    assert fake.requests == before and fake.messages(to=e164) == []

    # 4. a new message is answered but turns nothing back on; only an explicit 订阅 re-subscribes
    assert "智能客服" in reply(bot, fake, phone, "你好")
    assert contact_of(records_db, phone).active is False
    assert reply(bot, fake, phone, "订阅") == messages.SMS_OPTED_IN
    assert contact_of(records_db, phone).active is True
    with this_process_on(records_db):
        sent = asyncio.run(twilio.send(phone, "您的工单已受理", purpose="notice"))
    assert sent.status == "queued" and [m.body for m in fake.messages(to=e164)] == ["您的工单已受理"]

    # …and its delivery is recorded from Twilio's signed status callback, through the bot
    def delivered() -> bool:
        with session_scope(records_db) as s:
            return s.get(OutboundMessage, sent.message_id).status == "delivered"

    fake.wait_for(delivered, what="the delivered status callback")
    assert all(c.http_status == 204 for c in fake.callbacks(fake.messages(to=e164)[0].sid))
    with session_scope(records_db) as s:
        statuses = s.scalars(select(OutboundStatusEvent.status).where(OutboundStatusEvent.message_id == sent.message_id)
                             .order_by(OutboundStatusEvent.id)).all()
    assert statuses[-2:] == ["sent", "delivered"]

    # no full phone number in anything the bot processes logged
    logs = bot.log_text()
    assert REGISTERED not in logs and "139****1111" in logs
