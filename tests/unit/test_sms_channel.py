"""The SMS channel's webhook, served in-process by Sanic over real HTTP, with a scripted stand-in for
Rasa's agent (what ``on_new_message`` hands messages to) so turns with buttons and slow turns can be
staged. Everything of ours is real: signature checks, the database, Redis, the transcript."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any, Dict, List, Optional
from xml.etree import ElementTree

import aiohttp
import pytest
import redis
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from sqlalchemy import select

from bot import messages
from bot.channels.sms import SmsInput, is_opt_in, is_opt_out
from bot.channels.sms_state import SmsState
from bot.config import get_settings, load_settings
from bot.domain import contacts, transcript
from bot.domain.models import AuditEntry, Binding, Contact, OutboundMessage, TranscriptEntry
from tests.eventually import eventually_async
from tests.factories import make_account
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, sign
from tests.harness import free_port

# Sanic's own switch for running several apps in one process (what sanic-testing sets)
Sanic.test_mode = True

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PHONE = "13900001111"
BUTTONS = [{"title": "查电费", "payload": "/query_bill"}, {"title": "报停电", "payload": "/report_outage"}]


@pytest.fixture
def app_db(db):
    """Point the process's DATABASE_URL at the test database (the channel opens its own sessions)."""
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = db.url
    get_settings.cache_clear()
    yield db
    if old is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = old
    get_settings.cache_clear()


class StandInAgent:
    """Answers like Rasa would through the output channel: greetings with buttons, the rest plainly."""

    def __init__(self) -> None:
        self.received: List[UserMessage] = []
        self.hold: Optional[asyncio.Event] = None

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.hold is not None:
            await self.hold.wait()
        out = message.output_channel
        if message.text in ("你好", "菜单"):
            await out.send_text_with_buttons(message.sender_id, "您好，请选择：", BUTTONS)
        else:
            await out.send_text_message(message.sender_id, f"收到：{message.text}")

    @property
    def texts(self) -> List[str]:
        return [m.text for m in self.received]


class Server:
    """One Rasa-server-like process: the SMS channel's blueprint mounted where Rasa mounts it."""

    def __init__(self, agent: StandInAgent, state: SmsState, **env: str) -> None:
        self.port = free_port()
        self.public = f"https://sms-bot.example.cn:8443/prefix{self.port}"
        self.settings = load_settings({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                                       "TWILIO_FROM_NUMBER": FROM_NUMBER, "PUBLIC_BASE_URL": self.public, **env})
        self.app = Sanic(f"smstest{uuid.uuid4().hex[:10]}")
        self.app.blueprint(SmsInput(self.settings, state).blueprint(agent), url_prefix="/webhooks/sms")
        self.server: Any = None

    async def __aenter__(self) -> Server:
        self.server = await self.app.create_server(host="127.0.0.1", port=self.port, return_asyncio_server=True,
                                                   access_log=False)
        await self.server.startup()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def post(self, path: str, params: Dict[str, str], signature: Optional[str] = "sign") -> tuple[int, str]:
        headers = {}
        if signature == "sign":
            headers["X-Twilio-Signature"] = sign(AUTH_TOKEN, self.public + path, params)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{self.port}{path}", data=params, headers=headers) as resp:
                return resp.status, await resp.text()

    async def sms(self, body: str, phone: str = PHONE, sid: Optional[str] = None, signature: Optional[str] = "sign",
                  **extra: str) -> tuple[int, List[str]]:
        sid = sid or "SM" + uuid.uuid4().hex
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": "+86" + phone,
                  "To": FROM_NUMBER, "Body": body, "NumMedia": "0", **extra}
        status, text = await self.post("/webhooks/sms/webhook", params, signature)
        if status != 200:
            return status, [text]
        root = ElementTree.fromstring(text.encode())
        assert root.tag == "Response"
        return status, [m.text or "" for m in root.findall("Message")]


@pytest.fixture
def local_state() -> SmsState:
    return SmsState(None)


@pytest.fixture
def redis_state():
    prefix = f"test-powerbot-sms-{uuid.uuid4().hex[:8]}"
    yield SmsState(REDIS_URL, key_prefix=prefix)
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def sender_of(db, phone: str = PHONE) -> str:
    return contacts.sender_id_for("sms", phone)


def transcript_of(db, sender_id: str) -> List[tuple[str, str, str]]:
    with db.session() as s:
        return [(e.direction, e.author, e.text) for e in transcript.since(s, sender_id)]


async def test_a_reply_comes_back_as_twiml_and_both_sides_are_in_the_transcript(app_db, local_state):
    agent = StandInAgent()
    async with Server(agent, local_state) as server:
        status, replies = await server.sms("电费怎么交")
    assert status == 200 and replies == ["收到：电费怎么交"]
    sender_id = sender_of(app_db)
    assert agent.received[0].sender_id == sender_id and agent.received[0].input_channel == "sms"
    assert PHONE not in sender_id
    assert transcript_of(app_db, sender_id) == [("in", "customer", "电费怎么交"), ("out", "bot", "收到：电费怎么交")]


async def test_the_registered_phone_is_proof_for_its_accounts(app_db, local_state):
    with app_db.session() as s:
        make_account(s, "5100000101", phone=PHONE)
        make_account(s, "5100000199", phone="13900009999")
    async with Server(StandInAgent(), local_state) as server:
        await server.sms("查电费")
    with app_db.session() as s:
        contact = contacts.by_sender(s, sender_of(app_db))
        bound = s.scalars(select(Binding).where(Binding.contact_id == contact.id)).all()
        assert [(b.account.account_no, b.method) for b in bound] == [("5100000101", "phone_match")]


@pytest.mark.parametrize("state", ["local_state", "redis_state"])
async def test_a_digit_reply_stands_for_the_numbered_button(app_db, state, request):
    agent = StandInAgent()
    async with Server(agent, request.getfixturevalue(state)) as server:
        _, replies = await server.sms("你好")
        assert replies == ["您好，请选择：\n回复1 查电费\n回复2 报停电"]
        await server.sms("2")
        await server.sms("1")  # the last turn offered nothing: "1" is just text now
    assert agent.texts == ["你好", "/report_outage", "1"]
    assert [t for d, _, t in transcript_of(app_db, sender_of(app_db)) if d == "in"] == ["你好", "2", "1"]


async def test_choices_are_shared_by_servers_behind_a_load_balancer(app_db, redis_state):
    agent_a, agent_b = StandInAgent(), StandInAgent()
    async with Server(agent_a, redis_state) as a:
        b_state = SmsState(REDIS_URL, key_prefix=redis_state.prefix)
        async with Server(agent_b, b_state) as b:
            await a.sms("你好")
            await b.sms("回复1")
            sid = "SM" + uuid.uuid4().hex
            await a.sms("电价多少", sid=sid)
            assert await b.sms("电价多少", sid=sid) == (200, [])  # Twilio's retry reached the other server
    assert agent_a.texts == ["你好", "电价多少"] and agent_b.texts == ["/query_bill"]


async def test_a_digit_after_someone_else_spoke_is_not_a_stale_button(app_db, local_state):
    agent = StandInAgent()
    async with Server(agent, local_state) as server:
        await server.sms("你好")
        with app_db.session() as s:  # an agent took over and asked for a rating meanwhile
            transcript.append(s, sender_of(app_db), "sms", "out", "agent:wang", "请回复1到5打分")
        await server.sms("1")
    assert agent.texts == ["你好", "1"]


async def test_typed_intent_syntax_never_reaches_rasa(app_db, local_state):
    agent = StandInAgent()
    async with Server(agent, local_state) as server:
        await server.sms('/query_bill{"account_no": "5100000199"}')
    assert not agent.texts[0].startswith("/")


async def test_a_repeated_message_sid_is_answered_once(app_db, local_state):
    agent = StandInAgent()
    async with Server(agent, local_state) as server:
        sid = "SM" + uuid.uuid4().hex
        first = await server.sms("停电了吗", sid=sid)
        again = await server.sms("停电了吗", sid=sid)
    assert first == (200, ["收到：停电了吗"]) and again == (200, [])
    assert agent.texts == ["停电了吗"]
    assert [d for d, _, _ in transcript_of(app_db, sender_of(app_db))] == ["in", "out"]


async def test_bad_signatures_are_refused_before_anything_happens(app_db, local_state):
    agent = StandInAgent()
    async with Server(agent, local_state) as server:
        assert (await server.sms("你好", signature=None))[0] == 403
        assert (await server.sms("你好", signature="RSOYDt4T1cUTdK1PDd93/VVr8B8="))[0] == 403
        params = {"MessageSid": "SM1", "From": "+86" + PHONE, "Body": "你好"}
        wrong_url = sign(AUTH_TOKEN, f"http://127.0.0.1:{server.port}/webhooks/sms/webhook", params)
        assert (await server.post("/webhooks/sms/webhook", params, wrong_url))[0] == 403
        assert (await server.post("/webhooks/sms/status", {"MessageSid": "SM1", "MessageStatus": "delivered"},
                                  "bad"))[0] == 403
    assert agent.received == []
    with app_db.session() as s:
        assert s.scalar(select(Contact)) is None and s.scalar(select(TranscriptEntry)) is None


async def test_a_signed_request_that_is_not_a_message_is_a_bad_request(app_db, local_state):
    agent = StandInAgent()
    async with Server(agent, local_state) as server:
        assert (await server.post("/webhooks/sms/webhook", {"MessageSid": "SM2", "Body": "你好"}))[0] == 400
        assert (await server.post("/webhooks/sms/webhook", {"MessageSid": "SM3", "From": "+86" + PHONE}))[0] == 400
        assert (await server.post("/webhooks/sms/webhook", {}))[0] == 400
        assert (await server.post("/webhooks/sms/status", {"MessageSid": "SM4"}))[0] == 400
    assert agent.received == []


async def test_numbers_outside_the_mainland_are_not_conversations(app_db, local_state):
    agent = StandInAgent()
    async with Server(agent, local_state) as server:
        status, _ = await server.post("/webhooks/sms/webhook", {"MessageSid": "SM5", "From": "+14155550100",
                                                                 "Body": "hello"})
    assert status == 200 and agent.received == []


async def test_a_picture_without_text_is_an_unsupported_message(app_db, local_state):
    agent = StandInAgent()
    async with Server(agent, local_state) as server:
        await server.sms("", NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1",
                         MediaContentType0="image/jpeg")
        assert await server.sms("") == (200, [])  # nothing at all: nothing to answer
    assert agent.texts == ["/unsupported_message"]
    assert transcript_of(app_db, sender_of(app_db))[0] == ("in", "customer", messages.SMS_MEDIA_PLACEHOLDER)


async def test_opt_out_is_confirmed_once_and_only_an_explicit_subscribe_ends_it(app_db, local_state):
    agent = StandInAgent()
    async with Server(agent, local_state) as server:
        assert await server.sms(" td ") == (200, [messages.SMS_OPTED_OUT])
        with app_db.session() as s:
            assert contacts.by_sender(s, sender_of(app_db)).active is False
        # the customer wrote to us: answered, but the number stays opted out
        assert await server.sms("你好") == (200, ["您好，请选择：\n回复1 查电费\n回复2 报停电"])
        with app_db.session() as s:
            assert contacts.by_sender(s, sender_of(app_db)).active is False
        assert await server.sms("订阅") == (200, [messages.SMS_OPTED_IN])
    assert agent.texts == ["你好"]  # neither the opt-out nor the opt-in reached the bot
    with app_db.session() as s:
        assert contacts.by_sender(s, sender_of(app_db)).active is True
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("sms.%"))
                         .order_by(AuditEntry.id)).all() == ["sms.opt_out", "sms.opt_in"]


@pytest.mark.parametrize("words", ["退订短信", "TD退订", "请帮我退订", "取消短信通知", "不要再给我发短信了", "stop please",
                                   "ＳＴＯＰ！", "退订", "T D", "UNSUBSCRIBE", "别再给我发短信了"])
def test_every_way_of_saying_stop_is_an_opt_out(words):
    assert is_opt_out(words) and not is_opt_in(words)


@pytest.mark.parametrize("text", ["你好", "我家停电了", "怎么退订峰谷电价以后电费会不会变高啊我想问问", "stopwatch", "取消",
                                  "好的", "start", "订阅"])
def test_other_messages_are_no_opt_out(text):
    assert not is_opt_out(text)


@pytest.mark.parametrize("words", ["订阅", "START", "start", "Start!", "恢复短信", "unstop"])
def test_only_explicit_words_subscribe_again(words):
    assert is_opt_in(words)


@pytest.mark.parametrize("text", ["你好", "好的", "是的", "yes", "我家停电了"])
def test_ordinary_messages_do_not_subscribe_again(text):
    assert not is_opt_in(text)


async def test_an_answer_later_than_the_budget_goes_by_rest_instead(app_db, local_state):
    agent = StandInAgent()
    agent.hold = asyncio.Event()
    async with Server(agent, local_state, SMS_REPLY_BUDGET_S="0.3") as server:
        assert await server.sms("我家停电了") == (200, [])  # Twilio is answered in time, with nothing
        agent.hold.set()
        async def sent_messages() -> list:
            with app_db.session() as s:
                return list(s.scalars(select(OutboundMessage)).all())

        sent = await eventually_async(sent_messages, 10, what="the answer sent by REST")
    assert [(m.recipient, m.body, m.purpose) for m in sent] == [(PHONE, "收到：我家停电了", "reply")]
    assert transcript_of(app_db, sender_of(app_db))[-1] == ("out", "bot", "收到：我家停电了")
