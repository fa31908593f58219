"""SMS sent by the running bot itself through the Twilio REST API: answers later than the reply budget, the
WeChat fallback when the customer-service window is closed (45015), and an event loop that keeps serving
while Twilio is slow.

A bot of its own (module fixture): ``SMS_REPLY_BUDGET_S=0`` and ``WECHAT_REPLY_BUDGET_S=0`` make every answer
go out asynchronously, ``REDIS_URL`` puts de-duplication and choices in Redis, and WeChat's API is the
session's fake WeChat API (tests/fakes/wechat.py), told to answer 45015 (the 48-hour window has closed).
"""

from __future__ import annotations

import shutil
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator, List, Tuple
from xml.etree import ElementTree

import pytest
import redis
from sqlalchemy import select

from bot.channels.dedup import SeenStore
from bot.db import dispose_engines, session_scope
from bot.domain import bindings, contacts, transcript
from bot.domain.models import OutboundMessage, OutboundStatusEvent
from tests.conftest import _TMP
from tests.fakes.twilio import FakeTwilioApi
from tests.fakes.wechat import WeChatClient, new_openid
from tests.harness import BotProcesses, start_bot
from tests.integration.records import seed

pytestmark = pytest.mark.rasa

REDIS_URL = "redis://127.0.0.1:6379/0"
OPENID = new_openid("oSmsFallback")
FALLBACK_PHONE = "13900002222"  # account 5100000102, bound to OPENID below


@pytest.fixture(scope="module")
def async_db(sqlite_template) -> Iterator[str]:
    """The known records, and a WeChat follower who bound account 5100000102 with an SMS code."""
    path = _TMP / f"sms-async-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    with session_scope(url) as s:
        seed(s)
        contact = contacts.get_or_create(s, "wechat", OPENID)
        challenge = bindings.start(s, contact, "5100000102")
        bindings.verify(s, contact, challenge.code)
    dispose_engines()
    yield url


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilioApi]:
    fake = FakeTwilioApi().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def async_bot(async_db, twilio, fake_wechat_api, tmp_path_factory) -> Iterator[BotProcesses]:
    env = {
        **fake_wechat_api.bot_env(),
        **twilio.bot_env(),
        "SMS_REPLY_BUDGET_S": "0",
        "WECHAT_REPLY_BUDGET_S": "0",
        "REDIS_URL": REDIS_URL,
    }
    bot = start_bot(Path(tmp_path_factory.mktemp("sms-async-bot")), async_db, env)
    yield bot
    bot.stop()


def sms(bot: BotProcesses, twilio: FakeTwilioApi, phone: str, text: str, **kw) -> Tuple[int, List[str]]:
    status, body = twilio.send_sms(bot.url, bot.env["PUBLIC_BASE_URL"], "+86" + phone, text, **kw)
    assert status == 200, body
    return status, [m.text or "" for m in ElementTree.fromstring(body.encode()).findall("Message")]


def message_status(db_url: str, message_id: int) -> Tuple[str, List[str]]:
    with session_scope(db_url) as s:
        message = s.get(OutboundMessage, message_id)
        events = s.scalars(select(OutboundStatusEvent.status).where(OutboundStatusEvent.message_id == message_id)
                           .order_by(OutboundStatusEvent.id)).all()
        return message.status, list(events)


def sms_record(db_url: str, sid: str) -> OutboundMessage | None:
    with session_scope(db_url) as s:
        return s.scalar(select(OutboundMessage).where(OutboundMessage.provider_id == sid))


def get(url: str) -> Tuple[int, float]:
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=10) as resp:
        resp.read()
        return resp.status, time.monotonic() - started


def test_the_event_loop_keeps_serving_while_twilio_is_slow(async_bot, twilio, async_db):
    phone, e164 = "13700000010", "+8613700000010"
    twilio.set_delay(3.0)
    try:
        assert sms(async_bot, twilio, phone, "你好") == (200, [])  # Twilio answered at once; the reply follows
        twilio.wait_for(lambda: twilio.in_flight > 0, what="the reply to reach the (slow) Twilio API")
        for path in ("/health", "/webhooks/sms/"):
            status, seconds = get(async_bot.url + path)
            assert status == 200 and seconds < 1.0, (path, seconds)
        assert twilio.in_flight > 0, "the send was over before the other requests were checked"
    finally:
        twilio.set_delay(0)
    sent = twilio.wait_for(lambda: twilio.messages(to=e164), what="the reply SMS")
    assert len(sent) == 1 and "智能客服" in sent[0].body
    record = twilio.wait_for(lambda: sms_record(async_db, sent[0].sid), what="the MessageSid saved")
    assert record.purpose == "reply" and record.recipient == phone
    twilio.wait_for(lambda: message_status(async_db, record.id)[0] == "delivered", what="the delivered callback")


def test_a_retried_message_is_answered_once_across_servers(async_bot, twilio, async_db):
    phone, e164, sid = "13700000011", "+8613700000011", "SM" + uuid.uuid4().hex
    assert sms(async_bot, twilio, phone, "电费怎么交", message_sid=sid) == (200, [])
    assert sms(async_bot, twilio, phone, "电费怎么交", message_sid=sid) == (200, [])
    client = redis.Redis.from_url(REDIS_URL)
    try:
        key = SeenStore(REDIS_URL, prefix="powerbot:sms:msg:").storage_key(sid)
        assert client.exists(key) == 1  # claimed in Redis: every server sees it
        client.delete(key)
    finally:
        client.close()
    twilio.wait_for(lambda: twilio.messages(to=e164), what="the reply SMS")
    with session_scope(async_db) as s:
        inbound = [e for e in transcript.since(s, contacts.sender_id_for("sms", phone)) if e.direction == "in"]
    assert len(inbound) == 1 and len(twilio.messages(to=e164)) == 1


def test_a_wechat_answer_refused_with_45015_reaches_the_phone_by_sms(async_bot, twilio, fake_wechat_api, async_db):
    e164 = "+86" + FALLBACK_PHONE
    fake_wechat_api.fail_next(45015, touser=OPENID, times=3)  # the customer's 48-hour window has closed
    wechat = WeChatClient(async_bot.url + "/webhooks/wechat/webhook")
    assert wechat.post(wechat.text(OPENID, "你好")).is_success  # the answer goes through the customer-service API
    sent = twilio.wait_for(lambda: twilio.messages(to=e164), what="the SMS fallback")
    assert len(sent) == 1 and "智能客服" in sent[0].body
    record = twilio.wait_for(lambda: sms_record(async_db, sent[0].sid), what="the MessageSid saved")
    assert record.channel == "sms" and record.purpose == "fallback" and record.recipient == FALLBACK_PHONE

    def delivered() -> bool:
        return message_status(async_db, record.id)[0] == "delivered"

    twilio.wait_for(delivered, what="the signed delivered callback")
    assert message_status(async_db, record.id)[1][-2:] == ["sent", "delivered"]
    assert [c.http_status for c in twilio.callbacks(sent[0].sid)] == [204, 204]
    assert fake_wechat_api.sent_to(OPENID) == []
    with session_scope(async_db) as s:
        refused = s.scalars(select(OutboundMessage).where(OutboundMessage.channel == "wechat",
                                                         OutboundMessage.contact_id == record.contact_id)).all()
        assert [(m.status, "45015" in (m.error or "")) for m in refused] == [("undelivered", True)]
    assert FALLBACK_PHONE not in async_bot.log_text()
