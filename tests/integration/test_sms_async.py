"""SMS sent by the running bot itself through the Twilio REST API: answers later than the reply budget, the
WeChat fallback when the customer-service window is closed (45015), and an event loop that keeps serving
while Twilio is slow.

A bot of its own (module fixture): ``SMS_REPLY_BUDGET_S=0`` and ``WECHAT_REPLY_BUDGET_S=0`` make every answer
go out asynchronously, ``REDIS_URL`` puts de-duplication and choices in Redis, and WeChat's API is a small
local server that answers every customer-service message with 45015 (the 48-hour window has closed).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator, List, Tuple
from xml.etree import ElementTree

import pytest
import redis
from sqlalchemy import select

from bot.db import dispose_engines, session_scope
from bot.domain import bindings, contacts, transcript
from bot.domain.models import OutboundMessage, OutboundStatusEvent
from tests.conftest import _TMP
from tests.fakes.twilio import FakeTwilioApi
from tests.harness import TEST_WECHAT_TOKEN, BotProcesses, start_bot
from tests.integration.records import seed

pytestmark = pytest.mark.rasa

REDIS_URL = "redis://127.0.0.1:6379/0"
OPENID = "oWxSmsFallbackTest000001"
FALLBACK_PHONE = "13900002222"  # account 5100000102, bound to OPENID below


class WindowClosedWeChatApi:
    """WeChat's API with the customer-service window closed: tokens are issued, every message gets 45015."""

    def __init__(self) -> None:
        self.sent: List[Dict[str, object]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, payload: Dict[str, object]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path.startswith("/cgi-bin/token"):
                    self._json({"access_token": "test-access-token", "expires_in": 7200})
                else:
                    self._json({"errcode": 40001, "errmsg": "invalid credential"})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                api.sent.append(payload)
                self._json({"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"})

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name="fake-wechat-45015", daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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
def wechat_api() -> Iterator[WindowClosedWeChatApi]:
    api = WindowClosedWeChatApi()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def async_bot(async_db, twilio, wechat_api, tmp_path_factory) -> Iterator[BotProcesses]:
    env = {
        **twilio.bot_env(),
        "SMS_REPLY_BUDGET_S": "0",
        "WECHAT_REPLY_BUDGET_S": "0",
        "WECHAT_APPID": "wxtest0000000000",
        "WECHAT_SECRET": "test-wechat-secret",
        "WECHAT_API_BASE_URL": wechat_api.url,
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
        assert client.exists(f"powerbot:sms:msg:{sid}") == 1  # claimed in Redis: every server sees it
        client.delete(f"powerbot:sms:msg:{sid}")
    finally:
        client.close()
    twilio.wait_for(lambda: twilio.messages(to=e164), what="the reply SMS")
    with session_scope(async_db) as s:
        inbound = [e for e in transcript.since(s, contacts.sender_id_for("sms", phone)) if e.direction == "in"]
    assert len(inbound) == 1 and len(twilio.messages(to=e164)) == 1


def post_wechat_text(bot: BotProcesses, openid: str, text: str) -> Tuple[int, str]:
    """A signed plain-mode WeChat text message, as WeChat's servers post it."""
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    signature = hashlib.sha1("".join(sorted([TEST_WECHAT_TOKEN, timestamp, nonce])).encode()).hexdigest()
    query = urllib.parse.urlencode({"signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": openid})
    xml = (f"<xml><ToUserName><![CDATA[gh_test00000001]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
           f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[{text}]]></Content><MsgId>{int(time.time() * 1000)}</MsgId></xml>")
    req = urllib.request.Request(f"{bot.url}/webhooks/wechat/webhook?{query}", data=xml.encode(), method="POST",
                                 headers={"Content-Type": "text/xml"})
    with urllib.request.urlopen(req, timeout=20) as resp:
        return resp.status, resp.read().decode()


def test_a_wechat_answer_refused_with_45015_reaches_the_phone_by_sms(async_bot, twilio, wechat_api, async_db):
    e164 = "+86" + FALLBACK_PHONE
    status, body = post_wechat_text(async_bot, OPENID, "你好")
    assert status == 200 and body == "success"  # the answer goes through the customer-service API
    twilio.wait_for(lambda: [m for m in wechat_api.sent if m.get("touser") == OPENID], what="the WeChat attempt")
    sent = twilio.wait_for(lambda: twilio.messages(to=e164), what="the SMS fallback")
    assert len(sent) == 1 and "智能客服" in sent[0].body
    record = twilio.wait_for(lambda: sms_record(async_db, sent[0].sid), what="the MessageSid saved")
    assert record.channel == "sms" and record.purpose == "fallback" and record.recipient == FALLBACK_PHONE

    def delivered() -> bool:
        return message_status(async_db, record.id)[0] == "delivered"

    twilio.wait_for(delivered, what="the signed delivered callback")
    assert message_status(async_db, record.id)[1][-2:] == ["sent", "delivered"]
    assert [c.http_status for c in twilio.callbacks(sent[0].sid)] == [204, 204]
    with session_scope(async_db) as s:
        wechat = s.scalars(select(OutboundMessage).where(OutboundMessage.channel == "wechat",
                                                         OutboundMessage.contact_id == record.contact_id)).all()
        assert [(m.status, "45015" in (m.error or "")) for m in wechat] == [("undelivered", True)]
    assert FALLBACK_PHONE not in async_bot.log_text()
